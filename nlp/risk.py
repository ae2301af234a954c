"""Risk signal detection: lexicon matches filtered by general context rules, clause by clause.

Rules (all generic, none keyed to particular sentences):
- other sense: a match overlapping one of its row's `exclude` strings (压力测试, 离职率, 发offer) is dropped;
  short (1-2 character) Chinese matches must also line up with jieba token boundaries (润 in 利润 is not 润);
- negation: 不/没/没有/无/并不/不存在/不算... shortly before the term in the same clause, a negator
  inside a `~` gap (压力不大), or a denial right after the term (压力还好, 加班不多);
  a negated passive inside a match (预算没被砍) negates it too;
- answered question: a risk inside a question (会不会人手不够？ / 压力大不大 / 离职？) is dropped when the
  next clause denies it (应该够 / 其实还好 / 没想过 / 不存在的); an unanswered or confirmed one is kept;
- resolved: a risk in a clause with a past marker (之前/以前/原来) followed by a resolution
  (现在没问题/后来补上/理顺了/能准点) is dropped, as is one directly followed by 解决了/已解决/补上了;
- settled worry: a worry (担心/怕) followed by 确认过了 / 下周到岗 is dropped like a resolved risk;
- owner: a third party right after 因为/为了/关于 is the topic, not the subject (因为客户归属闹得不愉快);
  otherwise, when the nearest subject before the term in its clause is a third party (客户/对方/甲方/
  供应商/对接人/兄弟部门...), the risk is theirs and dropped; rows flagged `self` are also dropped when
  a colleague is the subject of a check-in clause (离职的老张 / 同事离职) - manager notes report employees;
- pattern: rows flagged `pattern` (加班, 熬夜) need a repetition marker (天天/每天/连续/又/一直/经常/
  好几个/这么多/最近...), a one-off marker (昨天/偶尔/一次) alone is not burnout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.focus import singled_out
from nlp.lexicon import CATEGORIES, Entry, load_lexicon, token_bounds
from nlp.normalize import Normalized, is_cjk, replace_chars
from nlp.typos import repair

_CLAUSE_SPLIT = re.compile(
    r"[，。！？；：,!?;:\n…~]+|\.(?!\d)"
    r"|(?<=[\u4e00-\u9fff])(?<![不非])(?=但是|但(?!愿)|可是|然而)"
    r"|(?<=[\u4e00-\u9fff])(?<![顾忙比说打跑睡熬拗抢斗扛撑看])(?=不过(?![来去]))"
)
_QMARK = "\ue000"  # filler left by A-not-A collapsing (够不够 -> 不够); marks a question clause
_NEGATORS = re.compile(r"不存在|不算|并不|并没有|并没|从没|从不|从来没|毫无|没有|没|无|不|未|谈不上|算不上|不至于|不是")
# strings that contain a negator character but do not negate what follows
_PSEUDO_NEG = re.compile(
    r"没想到|不得不|不停|不断|不少|不仅|无论|不管|没完没了|没日没夜|不知不觉|忍不住|不得已|受不了|吃不消|"
    r"顶不住|睡不着|撑不住|要不要|是不是|会不会|能不能|够不够|大不大|累不累|多不多|不一定|不然|不光|无非|"
    r"差不多|不只|少不了|免不了|不止|不好说|说不定|没准|不可避免|毫不|不由得|不就|不是说|不对|一直没"
)
_NEG_WINDOW = 6
_NEG_PASSIVE = re.compile(r"没被|未被|没有被|并未被|不会被")  # 预算没被砍: a negated passive inside the match
_POST_DENIAL = re.compile(r"^(?:[也都还倒其实]{0,3})(?:不大|不多|不高|不重|还好|还行|还可以|可控|不算|一般|ok|没事|没问题|不严重|挺好|正常)")
_QUESTION = re.compile(r"吗|会不会|是不是|有没有|能不能|够不够|大不大|累不累|多不多|要不要|\?|？|呢$")
_DENIAL = re.compile(
    r"不存在|没想过|没考虑过|不会|不搞|不至于|谈不上|算不上|还好|还行|应该够|够用|够了|刚好够|正好够|也够|还够|足够|绰绰有余|有余量|有富余|没问题|没事|不用|"
    r"放心|说没有|说不会|说没|并没有|没那么|不大|不多|其实没有|没有的事|想多了|是够的|够的|不缺|^没有|^没|^不$|^否|"
    r"排得开|排得过来|排得过|可以覆盖|能覆盖|覆盖得了|就够|够用|如实反馈|[，,]够$"
)
_CONFIRM = re.compile(r"不够|确实|是的|^对|非常|太|真的|很|已经|有点|担心|怕")
# The strong declines that settle a reply on their own (not 不心动: 说不心动是假的), and with the softer
# ones every way an offer or a recruiter is turned down, after the term or earlier in its clause
# (Coco拒了那边的offer). One list: a new word for a firm decline is a decline too.
_FIRM_DECLINES = (r"(?<![被不会算])拒了|(?<![被不会算])拒绝了|婉拒|回绝|谢绝|推掉了|拒咗|给回了|已经推咗|我推咗|没答应|说不去|不去了|"
                  r"暂时不想动|暂时没想动|暂时唔想郁|一口回了|一口回绝|(?<![还也])没应|就没去|就推咗|就推了|莫得兴趣|冇兴趣|已读不回|"
                  r"说不用了|不感兴趣")
_DECLINED_FIRM = re.compile(_FIRM_DECLINES)
_DECLINED = re.compile(_FIRM_DECLINES + r"|不考虑|没兴趣|不打算(?!拒)|没打算(?!拒)|不会走|不想走|懒得理|没理他|没搭理|已经拒|唔去|"
                       r"唔考虑|没同意|不心动|唔想郁|不想挪窝|他说不去|她说不去|佢话唔去")
PAST = re.compile(r"之前|去年|以前|原来|原本|曾经|本来|上个月|上周|上礼拜|上次|上回|前几天|前两天|前阵子|前几周|过去|前段时间|前一阵|那阵子|一度|当时|过一阵|过一段时间|担心过|担忧过|怕过")
RESOLUTION = re.compile(
    r"现在[^，。]{0,6}(没问题|好了|好多了|不用|正常|到位|解决|够了|能准点|准点|理顺|轻松|回来了)|新到了|调休了|状态回来了|正常作息|决定留下|留了下来|(到|来)了[一两三四五六几\d]+(台|位|名|个人)|后来[^，。]{0,8}(补|调来|招到|到位|解决|好了)|"
    r"已解决|解决了|已经补上|补上了|补齐了|已到位|到位了|缓解了|好多了|理顺了|基本能准点|不再|"
    r"恢复正常|恢复了|到岗后|已经顺畅|顺畅了|不成问题|来得及|赶得上|已恢复|回归正常|告一段落|聊开了|说开了|化解了|和好了|扩容了|已扩容|到岗了|已到岗|招到了|"
    r"(扛|挺|熬|撑)过来了|(搭|建|配|装|弄|修)好了|审批过了|批下来了|批了|补了[一两三四五几\d]|新来了|来了[一两三四五几\d]个|"
    r"够用了|已开通|开通了|已于[^，。]{0,6}到岗|已经到岗|又(采购|买|申请|调)了|"
    r"没这个(念头|想法|打算)了|打消了|现在没事了|握了手|应该还够|还够用|握手(言和)?了|调了[一两三四五几\d]+个[^，。]{0,8}过来|现在[^，。]{0,8}(够用|充足|宽裕|足够|很好|特别好|挺好|顺畅|融洽|不错)"
)
_WORRY = re.compile(r"担心|担忧|怕")
_SETTLED = re.compile(r"确认过了|已确认|(下周|明天|下个月|月底前?)[^，。]{0,3}到岗|已经安排好|已协调好|协调到了|借到了")
_RESOLVED_AFTER = re.compile(r"^[^，。]{0,12}(解决了|已解决|已经解决|补上了|已补齐|搞定了|搞掂|缓解了|说开了|聊开了|和好了)")
# A reply that ends by saying it is over (…，我把班错开了，现在没事了): what it told before is resolved, past marker or not
# (guideline: a resolved conflict or worry carries no risk).
_ENDS_RESOLVED = re.compile(r"[，,。；;]\s*(?:现在|目前|已经|现已)(?:都)?(?:没事了|没问题了|没事儿了|好了|和好了|说开了|聊开了)[。！!~～😊🙂👌]*$")
# A shortage already covered in the reply (本来缺两个老师，年级组已经安排好了 / 师傅只有两个，我算了一下排得下): the gap is
# closed (ninth-round settlement; a whole-reply veto, _text_vetoes). A request still unanswered (已申请) is not cover.
_COVERED = re.compile(r"已经安排好|已安排好|都安排好了|安排好了|已协调好|协调好了|排得下|排得开|排得过来|没得问题|冇得问题|"
                      r"顶上了|已到岗|替补已到|已经到岗|返聘|接手的人已|现在够了|人够了|够用了|刚好够|[，,]够了$|批下来了|已批下来|"
                      r"调了[一两三四五几\d]+(?:个|台|位|名)[^，。]{0,8}过来|送了[一两三四五六七八九十\d]+个[^，。]{0,6}来")
_OTHER_TOPIC = re.compile(r"(其他|别的|其余|其它)[都也还]{0,2}$")
# A leaving remark taken back as a joke (上次讲想辞职是开玩笑的，莫当真)
_JOKE = re.compile(r"(?<![半不没是])开玩笑|(?<![半不没是])开个玩笑|说着玩|莫当真|别当真|不要当真|随口说说|说说而已|逗你")
_LEAVING = re.compile(r"辞|离职|跳槽|提桶|走人|offer|外面|外部|机会|行情|别家|别的公司|下家|考公|考编|换个?[^，。]{0,6}工作")
# Leaving a role for another inside the company (想申请调去规划设计那边 / 换去采购那边): an internal transfer
_TRANSFER = re.compile(r"(?:想|申请|打算|准备|希望|讲讲|问问|说说|考虑)[^，。]{0,6}"
                       r"(?:转岗|调岗|换部门|转部门|内部转|轮岗|转[^，。]{1,4}岗|(?<=申请)回去(?:做|开|干)|(?:去|到)公司[^，。]{0,6}(?:科|部|处|中心)|"
                       r"(?:转|调|换)(?:去|到)[^，。]{0,8}(?:部|处|组|科|课|室|那边|中心|岗|线|车间|校区)|(?:转|调|换)(?:去|到)做|调(?:白|夜)班)|内部竞聘|内部应聘")
_THIRD_PARTY = re.compile(
    r"客户|对方|甲方|供应商|对接人|他们公司|他们那边|对方公司|兄弟部门|其他部门|别的部门|合作方|渠道商|经销商|"
    r"代理商|竞品|竞争对手|友商|kp|采购方|客户方|他们团队|他们组|他们部门|他们内部|他们自己|"
    r"患者|病人|家属|家长|玩家|网友|粉丝|学生|学员|顾客|客人|商户|业主|住户|租户|物业|隔壁|物流公司|承运商|药企|设计院"
)
_TOPIC = re.compile(r"因为|为了|关于|围绕|当着")
_SELF = re.compile(r"我|咱|自己|组里|团队|本组|我方|大家|项目组|我们")
_COLLEAGUE = re.compile(
    r"同事|同组|同部门|同科室|搭档|组员|前任|有人|别人|他|她|骨干|店长|阿[A-Za-z]+|"
    r"(?:组里|组内|我们组|我组|团队里|部门里|店里|科里|班上|组)[的嘅]?\s?(?:[a-z]{3,}|[\u4e00-\u9fff](?:老师|工|姐|哥|师傅|医生))|"
    r"[王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤](?:老师|工|姐|哥|师傅|医生)|[小老][王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤]"
)
_PATTERN = re.compile(
    r"天天|日日|每天|每晚|每周|连续|连着|又|一直|经常|总是|总|老是|常常|长期|频繁|通宵|好几|几个|好多|这么多|那么多|很多|"
    r"不少|多|持续|整周|整月|周末|几周|两周|三周|一个月|半个月|几个月|最近|这阵子|这段时间|每个|天天都|成了常态|家常便饭|还是|"
    r"(?<![周期拜])[两二三四五六七八九十\d]+个?(?:大夜|通宵|夜班|晚上)"
)
_ONEOFF = re.compile(r"昨天|昨晚|今天|今晚|前天|那天|某天|偶尔|一次|临时|难得|就一天|就一晚|就一个晚上|就这一晚|一晚而已|"
                     r"就一个通宵|周[一二三四五六日]晚|(?:上|这)?周[一二三四五六日](?=通宵|熬)")
# recruiting work: the writer hires (发了2个offer / 跟猎头签了合作 / 候选人复试), nobody is leaving
_RECRUIT = re.compile(r"招聘|候选人|校招|社招|在招|主要招|招[^不]{0,2}(总监|经理|工程师|岗)|面试官|合作框架|签了合作|发了?[\d一两三几]*个?offer|"
                      r"增员|面[试是]?了[\d一两三四五六七八九十几]+个|背调[\d一两三四五六七八九十几]+人|终面[\d一两三四五六七八九十几]+场|离职面谈|离职原因|离职证明|"
                      r"离职(?:手续)?[\d一两三四五六七八九十几]+人|入离职|"
                      r"入职(?:办理)?[\d一两三四五六七八九十几]+人|offer谈崩|猎头供应商|猎头费|猎头公司报价")
# a colleague named as the writer's report (ninth round: 我组里的 / 我带的 / 我的下属), and a resignation already handed in
_REPORT = re.compile(r"[我俺]手下|[我俺]手底下|手底下的|[我俺]带的|[我俺]的下属|[我俺]下属|[我俺]组里的|[我俺]班上的")
_DECIDING = re.compile(r"说|话|讲|在看|在面|面试|想|考虑|打算|琢磨|犹豫|纠结|动摇|再这样|再唔")
_RESIGNED = re.compile(r"递了|递交|提了|提出|提交|交了|已经走|走了|辞职了|离职了|辞工了|批了|办完|已离职|已辞|递辞呈|辞呈|离职报告|辞职报告|"
                       r"要走了|月底走|下周走|下个月走|最后一天|交接|[^还]走咗|辞咗|劈炮|(?:下个?月|月底|下周|年底|明天|下礼拜)就?(?:离职|辞职|走)")
_COUNTERFACTUAL = re.compile(r"不然|否则|要不是|要不然")
_INTENSIFIER = re.compile(r"很|太|非常|特别|真的|实在|严重|超级|巨|好|极其|完全|天天|每天|彻底")
_SOFTENER = re.compile(r"有点|有些|稍微|略|一点|可能|也许|估计|似乎|好像")


@dataclass(frozen=True)
class Match:
    category: str
    start: int  # normalised text offsets
    end: int
    severity: int


def clauses(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for m in _CLAUSE_SPLIT.finditer(text):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        out.append((pos, len(text)))
    return out


def _collapse_a_not_a(norm: Normalized) -> Normalized:
    """够不够 -> 不够 (blank the first 够), 大不大 -> 大, 要不要走 -> 要走 (blank X不); lengths are kept."""
    text = norm.text
    for m in re.finditer(r"([\u4e00-\u9fff])不\1", text):
        a = m.group(1)
        if a in "够足行":
            norm = replace_chars(norm, m.start(), _QMARK)
        else:
            norm = replace_chars(norm, m.start(), _QMARK * 2)
    return norm


def _negated(text: str, cs: int, start: int, end: int, m: re.Match[str]) -> bool:
    for name, val in m.groupdict().items():
        if name.startswith("g") and val and _NEGATORS.search(_PSEUDO_NEG.sub("", val)):
            return True
    window = text[max(cs, start - _NEG_WINDOW):start]
    window = window[window.rfind("的") + 1:]  # 没背景的|早点走: a negated modifier does not reach the head
    window = _PSEUDO_NEG.sub("##", window)
    if _NEGATORS.search(window) or _NEG_PASSIVE.search(text, start, end):
        return True
    return bool(_POST_DENIAL.match(text[end:end + 6]))


def _negated_span(text: str, cs: int, start: int, end: int) -> bool:
    """Negation test for a span that did not come from a lexicon regex (the learned model's evidence)."""
    return _negated(text, cs, start, end, _EMPTY.match(""))


_EMPTY = re.compile("")


def _owner_blocks(before: str, entry: Entry, source: str, matched: str = "") -> str:
    """"third" when a third party owns the clause, "colleague" for a colleague's own signal, else "".
    A term naming the writer as its object (有人在挖我) stays the writer's even after a colleague subject."""
    def last(rx: re.Pattern[str]) -> int:
        pos = -1
        for m in rx.finditer(before):
            pos = m.end()
        return pos

    # 因为客户归属 / 为了客户需求: the third party is the topic, not the subject
    third_spans = [m.span() for m in _THIRD_PARTY.finditer(before)
                   if not _TOPIC.search(before, max(0, m.start() - 8), m.start())
                   and not (entry.category == "conflict" and before[m.start() - 1:m.start()] in ("跟", "和", "与", "同"))]
    third = max((e for _, e in third_spans), default=-1)
    third_ends = {e for _, e in third_spans}
    me = -1
    for m in _SELF.finditer(before):
        inside = any(a <= m.start() < b for a, b in third_spans)  # 他们团队: not the writer's team
        if m.start() not in third_ends and not inside:  # 合作方团队 / 客户团队: still the third party's team
            me = m.end()
    if third > me:
        return "third"
    # 跟王姐提了离职: a colleague after 跟/向/给 is whom the writer tells, not the subject
    peer = max((m.end() for m in _COLLEAGUE.finditer(before) if before[m.start() - 1:m.start()] not in ("跟", "向", "给", "找")
                or m.start() == 0), default=-1)
    if "self" in entry.flags and source != "manager" and peer > me and "我" not in matched:
        return "colleague"
    return ""


def _severity(entry: Entry, ctx: str, matched: str) -> int:
    sev = entry.severity
    if _INTENSIFIER.search(ctx) or _INTENSIFIER.search(matched):
        sev += 1
    if _SOFTENER.search(ctx):
        sev -= 1
    return max(1, min(3, sev))


def _answered(text: str, spans: list[tuple[int, int]], idx: int) -> bool:
    """True when clause idx is a question and the next clause denies it."""
    cs, ce = spans[idx]
    clause = text[cs:ce]
    tail = text[ce:ce + 1]
    if not (_QUESTION.search(clause) or tail in "?？" or _QMARK in clause):
        return False
    if idx + 1 >= len(spans):
        return False
    answer = text[spans[idx + 1][0]:spans[min(idx + 3, len(spans) - 1)][1]]
    if _CONFIRM.search(answer) and not _DENIAL.search(answer.replace("不够", "")):
        return False
    return bool(_DENIAL.search(answer))


def _resolved(text: str, spans: list[tuple[int, int]], idx: int, end: int) -> bool:
    cs, ce = spans[idx]
    if _RESOLVED_AFTER.match(text[end:]):
        return True
    later = text[ce:]
    if _WORRY.search(text[cs:ce]) and _SETTLED.search(later):
        return True  # 担心下个月人不够，和HR确认过了，实习生下周到岗: a worry already taken care of
    if _ENDS_RESOLVED.search(later):
        return True
    if not PAST.search(text[cs:ce]):
        return False
    return bool(RESOLUTION.search(later))


@dataclass(frozen=True)
class Detection:
    matches: list[Match]
    vetoed: frozenset[str]  # categories whose lexicon terms matched but a context rule dropped them
    text: str  # normalised text after typo repair and A-not-A collapsing (same length as norm.text)
    spans: list[tuple[int, int]]  # clauses
    tokens: list[tuple[int, int]]  # jieba token spans
    # vetoes the learned model may not override: in a visit note, a signal that belongs to the visited
    # party (供应商缺人，交货要延后: the guideline's "belongs to someone outside the writer's team")
    firm: frozenset[str] = frozenset()
    # rule signals a reassuring tail singles out as the one problem: judged without the tail (nlp.focus)
    kept: frozenset[str] = frozenset()


def detect_full(norm: Normalized, source: str = "checkin") -> Detection:
    """Rule detection, plus what the learned model (nlp/reply_model.py) reads: vetoed categories, the
    repaired text, its clauses and tokens."""
    lex = load_lexicon()
    starts, ends, tspans = token_bounds(norm.text)
    for pos, word in repair(norm.text, tspans, lex.literals):
        norm = replace_chars(norm, pos, word)
    norm = _collapse_a_not_a(norm)
    text = norm.text
    if _QMARK in text:  # the collapsed A-not-A leaves new token boundaries around the filler
        marks = [i for i, c in enumerate(text) if c == _QMARK]
        starts = starts | {i + 1 for i in marks}
        ends = ends | set(marks)
    spans = clauses(text)
    chars = set(text)
    found: list[Match] = []
    vetoed: set[str] = set()
    firm: set[str] = set()
    for entry in lex.entries:
        if entry.first is not None and not (entry.first & chars):
            continue
        for m in entry.regex.finditer(text):
            s, e = m.span()
            if e <= s:
                continue
            matched = text[s:e]
            if len(matched) <= 2 and all(is_cjk(c) for c in matched) and (s not in starts or e not in ends):
                continue
            if matched.isascii() and _ascii_glued(text, s, e):
                continue
            if any(_overlaps(text, x, s, e) for x in entry.exclude):
                vetoed.add(entry.category)
                continue
            idx = next((i for i, (a, b) in enumerate(spans) if a <= s < b), None)
            if idx is None:
                continue
            cs, ce = spans[idx]
            if _negated(text, cs, s, e, m):
                vetoed.add(entry.category)
                continue
            owner = _owner_blocks(text[cs:s], entry, source, matched)
            if owner == "colleague" and entry.category == "attrition":
                if _REPORT.search(text, cs, s) or (_DECIDING.search(text, cs, e) and not _RESIGNED.search(text[max(cs, s - 4):ce])):
                    # the writer's own report (我手下的小周递了辞职报告), or a teammate still deciding (小郭说干完这个月
                    # 就走 / 在看外面的机会): someone still here may go (ninth- and tenth-round settlements)
                    found.append(Match("attrition", s, e, _severity(entry, text[cs:s], matched)))
                    continue
                # a colleague who has resigned: the writer's team is short of people, not the writer leaving
                found.append(Match("resource", s, e, 1))
                vetoed.add("attrition")
                continue
            if owner:
                vetoed.add(entry.category)
                if owner == "third" and source == "visit":
                    firm.add(entry.category)
                continue
            if entry.category == "attrition" and (_DECLINED.search(text, e) or _DECLINED.search(text, cs, s)
                                                  or _RECRUIT.search(text, cs, ce) or _joke_taken_back(text)
                                                  or (_TRANSFER.search(text, cs, ce) and not _LEAVING.search(matched))):
                vetoed.add(entry.category)
                continue
            if source == "visit" and idx > 0 and _inherits_third(text, spans, idx, s):
                vetoed.add(entry.category)
                continue
            prev = text[spans[idx - 1][0]:cs] if idx > 0 else ""
            scope = prev + text[cs:ce]
            if "pattern" in entry.flags and not _PATTERN.search(scope):
                vetoed.add(entry.category)
                continue
            if "oneoff" in entry.flags:
                nxt = text[ce:spans[idx + 1][1]] if idx + 1 < len(spans) else ""
                # the term itself is not the pattern (通宵 is a pattern word, yet 周四通宵 is one night)
                if _ONEOFF.search(scope + nxt) and not _PATTERN.search(prev + text[cs:s] + text[e:ce]):
                    vetoed.add(entry.category)
                    continue
            if entry.category in ("resource", "burnout") and _COUNTERFACTUAL.search(text, max(cs, s - 6), s):
                vetoed.add(entry.category)  # 幸亏阿杰顶了两天，不然真的忙不过来: it did not happen
                continue
            if _answered(text, spans, idx) or _resolved(text, spans, idx, e):
                vetoed.add(entry.category)
                continue
            found.append(Match(entry.category, s, e, _severity(entry, text[cs:s], matched)))
    hard = _text_vetoes(text, spans)
    if hard:
        found = [m for m in found if m.category not in hard]
        vetoed |= hard
    # a note that names the writer's side at all (供应商缺人，我们线停了一天: it blocks the writer's work) is the
    # writer's after all (a class the rules found is reported whatever this holds: reply_model.risk_matches)
    if _SELF.search(text):
        firm.clear()
    return Detection(_dedupe(found), frozenset(vetoed), text, spans, tspans, frozenset(firm), singled_out(text, spans, found))


# The whole reply limits a class, for the rules and the learned model alike (a vetoed class cannot come
# from the model: Policy.vetoes_bind): an overnight said to be the only one (就一晚，没事), a leaving
# remark taken back as a joke or a move inside the company, a shortage said to be covered (ninth round).
_ONEOFF_EXPLICIT = re.compile(r"就一晚|就一个晚上|就这一晚|就那一晚|一晚而已|就一次|就这一次|就这一回|就那一回|只此一次|仅此一次|一次而已|"
                              r"就一天|(?:守|熬|干|测|盯|值)了一晚(?!上?睡不着)|(?:干|熬|守|测)了一?个通宵|一次过")
# 累 conceded inside good news (累是累，高兴 / 虽然累但值): no burnout (ninth-round settlement)
_CONCEDED = re.compile(r"累[^。！]{0,6}(?:不过|但是?)[^。！]{0,24}(?:值得|值了|没白)|累是累(?![惨死坏疯])|累归累|虽然累(?!得)|虽说累(?!得)|虽然辛苦|辛苦是辛苦|累但值|累但开心|累并快乐")
_SELF_LEAVING = re.compile(r"我也|自己的出路|我要走|我想走|我也想|我也要")
# a decline followed by a step taken or a door left open keeps the flight risk (过了年再聊 / 但我在投简历)
_STEP = re.compile(r"再聊|再谈|再说|在考虑|考虑|约了|去面|面试|投简历|在看|但|不过|可是|也没拒绝|没拒绝|动摇|心动")
_BUT = re.compile(r"但|不过|可是")
_RECURRING = re.compile(r"天天|每天|每晚|每周|连续|连着|经常|一直|总是|老是|又|好几|常常|频繁")


def _joke_taken_back(text: str) -> bool:
    """A leaving remark taken back as a joke, not followed by 但/不过/可是 (开玩笑的，但确实该换个活路了 keeps it)."""
    joke = _JOKE.search(text)
    return bool(joke and not _BUT.search(text, joke.end()))


def _text_vetoes(text: str, spans: list[tuple[int, int]]) -> set[str]:
    out = set()
    if (_ONEOFF_EXPLICIT.search(text) or _CONCEDED.search(text)) and not _RECURRING.search(text):
        out.add("burnout")
    if _joke_taken_back(text) or (_TRANSFER.search(text) and not _LEAVING.search(text)):
        out.add("attrition")
    declined = _DECLINED_FIRM.search(text)
    if declined and not _STEP.search(text, declined.end()) and not _SELF_LEAVING.search(text):
        out.add("attrition")
    # a shortage covered anywhere in the reply, not 其他没问题 (another topic)
    if any(not _OTHER_TOPIC.search(text, max(0, m.start() - 6), m.start()) for m in _COVERED.finditer(text)):
        out.add("resource")
    return out


_NO_FLAGS = Entry("", "", None, 1, frozenset({"self"}), (), None)


def model_span_ok(det: Detection, cat: str, s: int, e: int, source: str) -> bool:
    """The clause rules applied to evidence the learned model found where the rules found nothing:
    the span must not overlap a rule signal, nor be negated, a third party's (or a colleague's leaving),
    declined or recruiting (attrition), a visit note's customer, an answered question or resolved."""
    text, spans = det.text, det.spans
    if any(m.start < e and s < m.end for m in det.matches):
        return False  # that text is already explained by a rule signal of another category
    idx = next((i for i, (a, b) in enumerate(spans) if a <= s < b), None)
    if idx is None:
        return False
    cs, ce = spans[idx]
    if _negated_span(text, cs, s, e):
        return False
    owner = _owner_blocks(text[cs:s], _NO_FLAGS, source)
    if owner == "third" or (owner == "colleague" and cat == "attrition"):
        return False
    if cat == "attrition" and (_DECLINED.search(text, e) or _DECLINED.search(text, cs, s) or _RECRUIT.search(text, cs, ce)):
        return False
    if source == "visit" and idx > 0 and _inherits_third(text, spans, idx, s):
        return False
    return not (_answered(text, spans, idx) or _resolved(text, spans, idx, e))


def _inherits_third(text: str, spans: list[tuple[int, int]], idx: int, s: int) -> bool:
    """Visit notes: a subjectless clause after one whose subject is the customer is about the customer
    too (客户内部在裁员，预算收紧)."""
    cs = spans[idx][0]
    if _SELF.search(text, cs, s) or _COLLEAGUE.search(text, cs, s) or _THIRD_PARTY.search(text, cs, s):
        return False
    ps, pe = spans[idx - 1]
    return bool(_THIRD_PARTY.match(text, ps)) and not _SELF.search(text, ps, pe)


def _ascii_glued(text: str, s: int, e: int) -> bool:
    before = text[s - 1] if s > 0 else " "
    after = text[e] if e < len(text) else " "
    return (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum())


def _overlaps(text: str, needle: str, s: int, e: int) -> bool:
    lo = max(0, s - len(needle) + 1)
    i = text.find(needle, lo, e + len(needle) - 1)
    while i != -1 and i < e:
        if i + len(needle) > s:
            return True
        i = text.find(needle, i + 1, e + len(needle) - 1)
    return False


def _dedupe(found: list[Match]) -> list[Match]:
    """One signal per category and overlapping span (keep the longer, then the more severe)."""
    out: list[Match] = []
    for m in sorted(found, key=lambda x: (CATEGORIES.index(x.category), x.start, -(x.end - x.start))):
        prev = next((o for o in out if o.category == m.category and o.start < m.end and m.start < o.end), None)
        if prev is None:
            out.append(m)
        elif m.severity > prev.severity:
            out[out.index(prev)] = Match(m.category, prev.start, prev.end, m.severity)
    return out
