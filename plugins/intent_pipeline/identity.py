"""Identity keys computed in Python the way the warehouse computes them in SQL.

``canonical_email`` is the Python twin of macro ``canonical_email`` (dbt_project/macros/identity.sql):
the synthetic workload's ground truth and the identity benchmark key emails with it, so their
identifiers are the graph's nodes. tests/test_bench_identity.py runs the macro's SQL on DuckDB over
a list of tricky addresses and checks that both give the same answer for every one.
"""

from __future__ import annotations

from typing import overload

# Gmail ignores dots in the local part and a ``+tag``; googlemail.com is the same mailbox.
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
# These providers ignore a ``+tag`` but not dots.
PLUS_TAG_DOMAINS = (
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "fastmail.com",
)


@overload
def canonical_email(address: str) -> str: ...
@overload
def canonical_email(address: None) -> None: ...
def canonical_email(address: str | None) -> str | None:
    """The mailbox an address delivers to, as an identity key; rule for rule the SQL macro.

    The domain is the text between the first and the second ``@``, the local part the text before
    the first. Gmail (and googlemail.com, which becomes gmail.com) drops the ``+tag`` and the dots of
    the local part; Outlook/Hotmail/Live, iCloud, Proton and Fastmail drop the ``+tag``; any other
    address is returned as it is. Like the macro it neither trims nor lower-cases: it expects an
    address normalised the way the extract does (``intent_pipeline.sources.normalize.email``).
    ``None`` gives ``None``.
    """
    if address is None:
        return None
    parts = address.split("@")
    local, domain = parts[0], parts[1] if len(parts) > 1 else None
    if domain in GMAIL_DOMAINS:
        return local.split("+")[0].replace(".", "") + "@gmail.com"
    if domain in PLUS_TAG_DOMAINS:
        return f"{local.split('+')[0]}@{domain}"
    return address


def mailbox(value: str | None) -> str | None:
    """The identity graph's email key of an address as it is typed anywhere (a landing cell, an erasure
    request, an explain query): the extract's normalisation (``sources.normalize.email``: trimmed,
    full-width folded, ``mailto:`` dropped, lower-cased), then :func:`canonical_email`. The one rule
    for "the same mailbox": whatever two spellings give the same key are one node of the graph.
    None when empty; ``BadValue`` (a ``ValueError``) when the text is no address."""
    from intent_pipeline.sources.normalize import email

    address = email(value)
    return canonical_email(address) if address is not None else None


# -- names ---------------------------------------------------------------------------------------------

# Common Chinese surnames (about 96 % of the population). Their readings as surnames differ from the
# everyday reading for a few characters (单 Shan, not dan; 曾 Zeng, not ceng), hence SURNAME_READINGS.
COMMON_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫"
    "孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童"
    "凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连"
    "芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖"
    "巩明佘池查麻苑迟邝欧阳司马诸葛上官东方皇甫令狐慕容尉迟夏侯长孙宇文公孙"
)
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "盖": "ge",
    "乐": "yue",
    "尉": "yu",
    "覃": "qin",
    "缪": "miao",
    "翟": "zhai",
    "种": "chong",
    "召": "shao",
    "长": "zhang",
    "万": "wan",
    "柏": "bai",
    "华": "hua",
    "沈": "shen",
    "繁": "po",
    "句": "gou",
    "宿": "su",
    "车": "che",
}


def pinyin_seed_rows() -> list[tuple[str, str, str]]:
    """(character, pinyin, surname_pinyin) for every character of GB2312 (the 6,763 hanzi nearly every
    name is written with): toneless pinyin as people type it in a form (ü as v: 吕 lv), and for the
    common surnames their reading as a surname (empty for other characters). Written into the seed
    identity_match_pinyin by ``python -m intent_pipeline.identity write-pinyin-seed``."""
    from pypinyin import lazy_pinyin

    characters = []
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                character = bytes([high, low]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            characters.append(character)
    surnames = set(COMMON_SURNAMES)
    rows = []
    for character in characters:
        reading = lazy_pinyin(character)[0]
        if not reading.isascii() or not reading.isalpha():
            continue
        surname = SURNAME_READINGS.get(character, reading) if character in surnames else ""
        rows.append((character, reading, surname))
    return rows


def write_pinyin_seed(path: str) -> int:
    """Write the seed identity_match_pinyin to ``path``; returns the number of characters."""
    import csv

    rows = pinyin_seed_rows()
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["character", "pinyin", "surname_pinyin"])
        writer.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "write-pinyin-seed":
        sys.exit("usage: python -m intent_pipeline.identity write-pinyin-seed PATH")
    print(f"{write_pinyin_seed(sys.argv[2])} characters written to {sys.argv[2]}")
