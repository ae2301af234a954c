def score_sentiment(norm, source, matches):
    return "neu", 0.0
