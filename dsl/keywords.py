"""The keyword table: every spelling (simplified and traditional) → one grammar terminal.

Keeping spellings here rather than in the grammar lets one grammar serve both scripts, as
Catala serves several languages with one grammar and per-language keyword tables, and it
guarantees that a rulebook written in traditional characters parses to the same tree.
"""

from __future__ import annotations

#: terminal → spellings. Terminals starting with `_` are dropped from the parse tree.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "_RULEBOOK": ("规则书", "規則書"),
    "_RULE": ("规则", "規則"),
    "_DOC": ("文献", "文獻"),
    "_SEED": ("种子", "種子"),
    "_DESC": ("说明", "說明"),
    "_INPUTS": ("输入", "輸入"),
    "_PARAMS": ("参数", "參數"),
    "_CONCLUSIONS": ("结论", "結論"),
    "_DEFINE": ("定义", "定義"),
    "_FUNCTION": ("函数", "函數"),
    "_TIER": ("层级", "層級"),
    "_VERSION": ("版本",),
    "_VERSION_NO": ("版本号", "版本號"),
    "_APPLIES_IN": ("适用版本", "適用版本"),
    "_BY": ("按",),
    "_FROM": ("自",),
    "_START_MARK": ("起",),
    "_UNTIL": ("截至",),
    "_ROUNDING": ("金额舍入", "金額捨入"),
    "_CITE": ("依据", "依據"),
    "_INFERRED": ("推断", "推斷"),
    "_NOTE": ("注",),
    "_EXCEPTION_OF": ("例外于", "例外於"),
    "_IF": ("如果",),
    "_THEN": ("则", "則", "那么", "那麼"),
    "_COND": ("若",),
    "_ELSE": ("否则", "否則"),
    "_COALESCE": ("若无则", "若無則"),
    "_AND": ("且", "并且", "並且", "而且"),
    "_OR": ("或", "或者"),
    "_NOT": ("不", "非"),
    "_IS": ("为", "為"),
    "_OPTIONAL": ("可选", "可選"),
    "_DEFAULT": ("默认", "默認"),
    "_SOURCE": ("来源", "來源"),
    "_IDENTITY": ("标识", "標識"),
    "TRUE": ("是", "真"),
    "FALSE": ("否", "假"),
    "NULL": ("空",),
    "NOW": ("现在", "現在"),
    "IN": ("属于", "屬於"),
    "NOT_IN": ("不属于", "不屬於"),
    "CONTAINS": ("包含",),
    "_WITH": ("以",),
    "STARTS": ("开头", "開頭"),
    "ENDS": ("结尾", "結尾"),
    "_AT": ("在", "介于", "介於"),
    "_TO": ("至",),
    "_BETWEEN": ("之间", "之間"),
    "PRESENT": ("有值",),
    "ABSENT": ("无值", "無值"),
    "HIGHER": ("高于", "高於"),
    "LOWER": ("低于", "低於"),
    "SAME_TIER": ("同级", "同級"),
    "EXISTS": ("存在",),
    "FORALL": ("所有", "每个", "每個"),
    "_SATISFIES": ("满足", "滿足"),
    "_FOR": ("对于", "對於"),
    "_SORT": ("排序",),
    "_TABLE": ("决策表", "決策表"),
    "_HIT": ("命中",),
    "_TEST": ("测试", "測試"),
    "_GIVEN": ("给定", "給定"),
    "_EXPECT": ("期望",),
    # comparison words share terminals with their symbols
    "EQ": ("等于", "等於"),
    "NE": ("不等于", "不等於"),
    "LT": ("小于", "小於", "早于", "早於"),
    "LE": ("不大于", "不大於", "不晚于", "不晚於"),
    "GT": ("大于", "大於", "晚于", "晚於"),
    "GE": ("不小于", "不小於", "不早于", "不早於"),
}

#: How a comparison is written canonically (simplified script, one symbol per operator). The
#: parser stores this spelling, so a traditional rulebook parses to the same tree as its twin.
CANONICAL_WORDS: dict[str, str] = {
    "等於": "等于", "不等於": "不等于", "小於": "小于", "早於": "早于", "不大於": "不大于", "不晚於": "不晚于",
    "大於": "大于", "晚於": "晚于", "不小於": "不小于", "不早於": "不早于", "==": "=", "!=": "≠", "<=": "≤", ">=": "≥",
}

#: spelling → terminal
SPELLINGS: dict[str, str] = {s: term for term, spellings in KEYWORDS.items() for s in spellings}
LONGEST_KEYWORD = max(len(s) for s in SPELLINGS)

#: Words that name things rather than structure (types): lexed as names, never split.
TYPE_WORDS: frozenset[str] = frozenset(
    "金额 金額 时间 時間 日期 时长 時長 百分比 数 數 文本 是否 列表 记录 記錄 选项 選項".split()
)

#: ASCII operators → terminal, longest first.
SYMBOLS: tuple[tuple[str, str], ...] = (
    ("==", "EQ"),
    ("!=", "NE"),
    ("<=", "LE"),
    (">=", "GE"),
    ("=>", "ARROW"),
    ("->", "ARROW"),
    ("→", "ARROW"),
    ("≠", "NE"),
    ("≤", "LE"),
    ("≥", "GE"),
    ("<", "LT"),
    (">", "GT"),
    ("=", "EQ"),
    ("+", "PLUS"),
    ("-", "MINUS"),
    ("−", "MINUS"),
    ("*", "STAR"),
    ("×", "STAR"),
    ("/", "SLASH"),
    ("÷", "SLASH"),
    (":", "COLON"),
    (",", "COMMA"),
    (".", "DOT"),
    ("(", "LPAR"),
    (")", "RPAR"),
    ("[", "LSQB"),
    ("]", "RSQB"),
    ("{", "LBRACE"),
    ("}", "RBRACE"),
    ("|", "PIPE"),
    ("?", "QMARK"),
)

#: Full-width punctuation folded to ASCII one character for one, so offsets never move.
FOLD = str.maketrans(
    {
        "：": ":",
        "，": ",",
        "、": ",",
        "（": "(",
        "）": ")",
        "〈": "(",
        "〉": ")",
        "［": "[",
        "］": "]",
        "【": "[",
        "】": "]",
        "｛": "{",
        "｝": "}",
        "＝": "=",
        "＋": "+",
        "－": "-",
        "＊": "*",
        "／": "/",
        "％": "%",
        "？": "?",
        "＜": "<",
        "＞": ">",
        "｜": "|",
        "；": " ",
        ";": " ",
        "。": " ",
        "\u3000": " ",
        "．": ".",
    }
)

#: How a terminal is shown to a user in "expected …" messages.
DISPLAY: dict[str, str] = {term: f"「{spellings[0]}」" for term, spellings in KEYWORDS.items()}
DISPLAY.update({term: f"「{sym}」" for sym, term in reversed(SYMBOLS)})
DISPLAY.update(
    {
        "NAME": "名称",
        "RULE_ID": "规则编号（如 SHIP-1）",
        "STRING": "文本（\"…\"）",
        "DOC_TITLE": "文献标题（《…》）",
        "MONEY": "金额（如 29.70元）",
        "PERCENT": "百分比（如 30%）",
        "DATETIME": "时间（如 2022-01-24 20:00:00）",
        "DATE": "日期（如 2022-01-24）",
        "DURATION": "时长（如 48小时）",
        "NUMBER": "数",
        "$END": "文件结尾",
    }
)
