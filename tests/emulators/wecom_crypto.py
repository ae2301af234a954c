"""WeCom callback crypto written from the spec (protocols.md A2), independently of wechatpy, so the
emulator checks the bot's wire format instead of agreeing with the same library by construction."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # PKCS#7 against a 32-byte block, although AES itself uses 16-byte blocks


class CryptoError(ValueError):
    pass


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


class WeComCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise CryptoError("EncodingAESKey must decode to 32 bytes")
        self.receive_id = receive_id

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, msg: str, random16: bytes | None = None, receive_id: str | None = None) -> str:
        rid = self.receive_id if receive_id is None else receive_id
        body = msg.encode()
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + rid.encode()
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def decrypt(self, encrypt: str) -> str:
        dec = self._cipher().decryptor()
        plain = dec.update(base64.b64decode(encrypt)) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK:
            raise CryptoError("bad padding")
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        msg, rid = plain[20 : 20 + length], plain[20 + length :]
        if rid.decode() != self.receive_id:
            raise CryptoError(f"receive id mismatch: {rid!r}")
        return msg.decode()

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)
