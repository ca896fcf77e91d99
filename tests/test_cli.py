"""The command line: formats, auto-selection, check/test/fmt exit codes (happy paths).

Bad inputs and batch guarantees are covered in test_cli_errors.py and test_batch.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from interpreter.cli import main

ROOT = Path(__file__).resolve().parent.parent
FESTIVAL = ROOT / "examples" / "春节迟发赔付.json"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_text_is_a_tree_with_rules_and_citations(capsys):
    code, out, _ = run(capsys, "explain", str(FESTIVAL), "-r", "shipping", "--now", "2022-01-30 00:00:00")
    assert code == 0
    assert "发货截止时间 = 2022-01-27 10:00:00" in out
    assert "SHIP-1a" in out and "特殊说明(1)" in out
    assert "最大（100.15 × 30% = 30.045 → 30.05，5.00）= 30.05" in out


def test_explain_json_follows_the_contract(capsys):
    code, out, _ = run(capsys, "explain", str(FESTIVAL), "-r", "shipping", "--format", "json")
    assert code == 0
    payload = json.loads(out)
    (result,) = payload["results"]
    assert result["rulebook"] == "shipping"
    assert set(result["conclusions"]) == {
        "适用规则", "发货截止时间", "实际发货时间", "是否延迟发货", "延迟时长", "是否自动赔付",
        "本单赔付金额", "合并赔付金额", "物流更新超时", "服务违约金", "处置措施"}
    assert result["conclusions"]["延迟时长"] == "PT5H30M"
    assert isinstance(result["explanation"], list)


def test_explain_markdown(capsys):
    code, out, _ = run(capsys, "explain", str(FESTIVAL), "-r", "shipping", "--format", "markdown")
    assert code == 0
    assert out.startswith("## shipping")
    assert "| 发货截止时间 | 2022-01-27 10:00:00 | SHIP-1a 春节不打烊 |" in out


def test_explain_without_rulebook_says_which_and_why(capsys):
    code, out, err = run(capsys, "explain", str(FESTIVAL), "--format", "json")
    assert code == 0
    assert "自动选择规则书「shipping」" in err and "必填输入" in err
    assert [r["rulebook"] for r in json.loads(out)["results"]] == ["shipping"]


def test_explain_reads_stdin(capsys, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(FESTIVAL.read_bytes()), encoding="utf-8"))
    code, out, _ = run(capsys, "explain", "-", "-r", "shipping", "--format", "json")
    assert code == 0 and json.loads(out)["results"][0]["conclusions"]["本单赔付金额"] == "30.05"


def test_explain_top_trade_without_hand_conversion(capsys):
    code, out, _ = run(capsys, "explain", str(ROOT / "examples" / "top_trade.json"), "-r", "shipping",
                       "--format", "json")
    assert code == 0
    c = json.loads(out)["results"][0]["conclusions"]
    assert c["适用规则"] == "春节不打烊" and c["是否延迟发货"] is True


@pytest.mark.parametrize(("key", "value", "agrees"), [
    ("实付金额", "1.00", False), ("实付金额", "258.00", True), ("订单号", "999", False), ("付款时间", "2022-01-26 10:00:01", False),
])
def test_an_input_given_both_by_name_and_by_its_top_field_must_agree(capsys, tmp_path, key, value, agrees):
    # the top-level key silently won: 本单赔付金额 5.00 instead of 77.40
    case = json.loads((ROOT / "examples" / "top_trade.json").read_text(encoding="utf-8"))
    case[key] = value
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    code, out, err = run(capsys, "explain", str(path), "-r", "shipping", "--format", "json")
    if agrees:
        assert code == 0 and json.loads(out)["results"][0]["conclusions"]["本单赔付金额"] == "77.40"
    else:
        assert code == 2 and f"输入「{key}」给了两个不同的值：$.{key} 为" in err


def test_why_not(capsys):
    code, out, _ = run(capsys, "explain", str(FESTIVAL), "-r", "shipping", "--why-not", "是否自动赔付")
    assert code == 0 and "SHIP-4a" in out


def test_param_override_changes_the_verdict(capsys):
    code, out, _ = run(capsys, "explain", str(FESTIVAL), "-r", "shipping", "--format", "json",
                       "--param", "赔付比例=\"50%\"")
    assert code == 0
    assert json.loads(out)["results"][0]["conclusions"]["本单赔付金额"] == "50.08"


def test_unknown_param_is_an_error_with_suggestion(capsys):
    code, _, err = run(capsys, "explain", str(FESTIVAL), "-r", "shipping", "--param", "赔付比=\"50%\"")
    assert code == 2 and "是否想写「赔付比例」" in err


def test_check_bundled_rulebooks_are_clean(capsys):
    code, _, err = run(capsys, "check", "--strict", str(ROOT / "rulebooks"))
    assert code == 0, err


def test_check_reports_errors_with_caret(tmp_path, capsys):
    bad = tmp_path / "坏.rules"
    bad.write_text("规则书 坏\n输入：\n  金额甲：金额\n结论：\n  结果：金额\n规则 R-1 加：\n  则 结果 = 金额甲 + 48小时\n",
                   encoding="utf-8")
    code, _, err = run(capsys, "check", str(bad))
    assert code == 2
    assert "坏.rules:7:" in err and "不能计算 金额 + 时长" in err
    assert "^" in err


def test_check_strict_turns_warnings_into_errors(tmp_path, capsys):
    f = tmp_path / "w.rules"
    f.write_text("规则书 w\n输入：\n  甲：数\n  乙：数\n结论：\n  丙：数\n规则 R-1 x：\n  则 丙 = 甲\n", encoding="utf-8")
    assert run(capsys, "check", str(f))[0] == 0
    code, _, err = run(capsys, "check", "--strict", str(f))
    assert code == 2 and "没有写「依据」" in err and "输入「乙」没有被任何规则使用" in err


def test_test_command_passes_on_bundled(capsys):
    code, out, _ = run(capsys, "test", str(ROOT / "rulebooks" / "shipping.rules"))
    assert code == 0
    assert out.strip().splitlines()[-1].endswith("passed, 0 failed")


def test_test_command_fails_on_wrong_expectation(tmp_path, capsys):
    shutil.copy(ROOT / "rulebooks" / "shipping.rules", tmp_path / "shipping.rules")
    (tmp_path / "shipping.tests.json").write_text(json.dumps({"cases": [{
        "名称": "错的期望", "现在": "2022-03-05 00:00:00",
        "输入": {"订单号": "1", "付款时间": "2022-03-01 10:00:00", "实付金额": "10.00"},
        "期望": {"发货截止时间": "2022-03-04 10:00:00"}}]}, ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(capsys, "test", str(tmp_path / "shipping.rules"))
    assert code == 1 and "错的期望" in out and "0 passed, 1 failed" in out


def test_fmt_check_and_rewrite(tmp_path, capsys):
    f = tmp_path / "f.rules"
    f.write_text("规则书 f\n输入:\n  甲:数\n结论:\n  乙:数\n规则 R-1 x:\n  依据 《某文》 \"一\"\n  则 乙=甲+1\n", encoding="utf-8")
    assert run(capsys, "fmt", "--check", str(f))[0] == 1
    assert run(capsys, "fmt", str(f))[0] == 0
    assert run(capsys, "fmt", "--check", str(f))[0] == 0
    assert "则 乙 = 甲 + 1" in f.read_text(encoding="utf-8")


def test_help_is_chinese(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["explain", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "示例" in out and "评估时间" in out


@pytest.mark.parametrize("command", ["explain", "check", "test", "fmt", "batch", "rulebooks"])
def test_every_command_takes_help(capsys, command):
    # `rulebook rulebooks --help` was refused as an unknown argument
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0 and "显示帮助并退出" in capsys.readouterr().out


def test_markdown_names_now_as_now(capsys):
    # it was headed 评估时间 with the --now value, while the case's own 评估时间 was what counted
    code, out, _ = run(capsys, "explain", str(ROOT / "examples" / "top_trade.json"), "-r", "shipping",
                       "--format", "markdown", "--now", "2022-02-01 12:00:00")
    assert code == 0 and "现在：2022-02-01 12:00:00" in out and "评估时间：2022-02-01" not in out
    assert "取默认值的输入：" in out


def test_an_evaluation_failure_names_the_case_file(capsys, tmp_path):
    path = tmp_path / "远.json"
    path.write_text(json.dumps({"订单号": "1", "付款时间": "9999-12-31 23:59:59", "实付金额": "10.00"}),
                    encoding="utf-8")
    code, _, err = run(capsys, "explain", str(path), "-r", "shipping", "--now", "2022-03-01 00:00:00")
    assert code == 2 and f"求值错误：{path}（规则书「shipping」）：求值失败：" in err


def test_a_rulebook_without_conclusions_is_warned_of_and_not_run(capsys, tmp_path):
    # an empty file passed check silently, and explain -r gave {"conclusions": {}} with exit 0
    empty = tmp_path / "空.rules"
    empty.write_text("", encoding="utf-8")
    code, _, err = run(capsys, "check", str(empty))
    assert code == 0 and "规则书没有声明任何结论" in err and "1 个警告" in err
    code, _, err = run(capsys, "explain", str(FESTIVAL), "-r", str(empty))
    assert code == 2 and "没有声明任何结论" in err


def test_nothing_to_check_is_not_a_success(capsys, tmp_path):
    # an empty directory was "检查了 0 个文件" with exit 0; a .tests.json was parsed as a rulebook
    (tmp_path / "空目录").mkdir()
    for command in ("check", "fmt", "test"):
        code, _, err = run(capsys, command, str(tmp_path / "空目录"))
        assert code == 2 and "中没有 .rules 文件" in err, command
    tests = tmp_path / "甲.tests.json"
    tests.write_text('{"cases": []}', encoding="utf-8")
    code, _, err = run(capsys, "test", str(tests))
    assert code == 2 and "是规则书的测试文件，请给出规则书本身" in err and "甲.rules" in err


def test_why_not_of_nothing_is_an_error(capsys):
    # --why-not '' printed the whole explanation, exit 0
    code, out, err = run(capsys, "explain", str(FESTIVAL), "-r", "shipping", "--why-not", "")
    assert code == 2 and out == "" and "既不是结论也不是规则" in err


SHIPPING_CASE = {"订单号": "1", "付款时间": "2022-03-01 10:00:00", "实付金额": "10.00"}


@pytest.mark.parametrize(("case", "chosen", "said"), [
    # every required input there, and more unrelated keys than recognised ones: it used to skip
    # shipping and say the nearest was lighthouse, missing 查询日期
    ({**SHIPPING_CASE, "备注": "x", "店铺": "y", "渠道": "z", "运单号": "w"}, ["shipping"], "未知输入「备注」"),
    # two rulebooks' inputs: each used to call the other's inputs unknown
    ({**SHIPPING_CASE, "查询日期": "2022-03-01"}, ["shipping", "lighthouse"], None),
])
def test_automatic_selection_takes_every_rulebook_whose_required_inputs_are_there(capsys, tmp_path, case, chosen, said):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    code, out, err = run(capsys, "explain", str(path), "--format", "json", "--now", "2022-03-05 00:00:00")
    assert code == 0 and [r["rulebook"] for r in json.loads(out)["results"]] == chosen, err
    assert ("未知输入" in err) == (said is not None) and (said is None or said in err), err


@pytest.mark.parametrize(("case", "message"), [
    ({}, "用例中没有任何内置规则书的输入"),
    ({"订单号": "1", "付款时问": "2022-03-01 10:00:00", "实付金额": "10.00"},
     "最接近的是「shipping」，缺少 付款时间（「付款时问」是不是「付款时间」？）"),
    # these ran aftersales (nothing required, 评估时间 recognised), or said nothing was recognised
    ({"trade_fullinfo_get_response": {"trade": {"tid": 1, "pay_time": "2022-01-26 10:00:00"}},
      "评估时间": "2022-01-30 00:00:00"}, "最接近的是「shipping」，缺少 实付金额"),
    ({"评估时间": "2022-01-30 00:00:00"}, "用例里只有几本规则书都用到的输入（评估时间），看不出是哪一本"),
    ({"售后场景": "已收仅退", "退款时间": "2022-01-30 00:00:00", "x": 1, "y": 2, "z": 3},
     "最接近的是「aftersales」，但用例中它认得的键太少，其余的（x、y、z）它不认得"),
    ({"售后场境": "已收仅退"}, "用例中没有任何内置规则书的输入（「售后场境」是不是「售后场景」？）"),
    # 咨询记录 is lighthouse's alone: it was "only shared inputs", with 「咨询记录」是不是「咨询记录」
    ({"咨询记录": [], "评估时间": "2022-01-02 10:00:00"}, "最接近的是「lighthouse」，缺少 查询日期"),
])
def test_automatic_selection_says_what_is_missing_truthfully(capsys, tmp_path, case, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    code, _, err = run(capsys, "explain", str(path))
    assert code == 2 and message in err, err


def test_an_argument_of_the_wrong_kind_is_told_in_chinese(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["batch", "-r", "shipping", "x.jsonl", "--workers", "abc"])
    assert exc.value.code == 2 and "参数 --workers: 应为整数，实际为: 'abc'" in capsys.readouterr().err


def test_two_rulebooks_warn_of_an_unknown_key_once(capsys, tmp_path):
    # each rulebook warned, once with a did-you-mean and once without
    case = {**SHIPPING_CASE, "查询日期": "2022-03-01", "收货省分": "浙江省"}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    code, _, err = run(capsys, "explain", str(path), "--format", "json", "--now", "2022-03-05 00:00:00")
    assert code == 0 and err.count("收货省分") == 1 and "是不是「收货省份」" in err, err


def _rules_with_tests(tmp_path: Path, expect: object) -> Path:
    rules = tmp_path / "t.rules"
    rules.write_text("规则书 t\n文献 规范：《规范》\n输入：\n  x：时长\n  m：金额\n结论：\n  y：时长\n  n：金额\n"
                     "规则 R：\n  依据 规范 \"一\"\n  则 y = x，n = m\n", encoding="utf-8")
    (tmp_path / "t.tests.json").write_text(json.dumps(
        {"cases": [{"名称": "一", "输入": {"x": "3天", "m": "5"}, "期望": expect}]}, ensure_ascii=False), encoding="utf-8")
    return rules


@pytest.mark.parametrize("expect", [{"y": "72小时", "n": "5"}, {"y": "PT72H", "n": "5.00"}, {"y": "P3D", "n": "¥5"}])
def test_tests_json_expectations_are_compared_as_values(capsys, tmp_path, expect):
    code, out, _ = run(capsys, "test", str(_rules_with_tests(tmp_path, expect)))
    assert code == 0, out


@pytest.mark.parametrize(("expect", "message"), [([], "「期望」应为对象"), (5, "「期望」应为对象"),
                                                 ("abc", "「期望」应为对象"), (None, "实际是 null"),
                                                 ({"y": "三天"}, 'y：期望 "三天"，实际 "P3D"')])
def test_a_malformed_expectation_fails_its_case_with_a_message(capsys, tmp_path, expect, message):
    code, out, err = run(capsys, "test", str(_rules_with_tests(tmp_path, expect)))
    assert code != 0 and message in out + err
    assert "内部错误" not in out + err


def test_markdown_shows_text_from_the_case_as_text(capsys, tmp_path):
    rules = tmp_path / "m.rules"
    rules.write_text("规则书 m\n文献 规范：《示例 | 规范》\n输入：\n  t：文本\n结论：\n  y：文本\n"
                     "规则 R 一|二：\n  依据 规范 \"一\"\n  则 y = t\n", encoding="utf-8")
    case = tmp_path / "c.json"
    case.write_text(json.dumps({"t": "a|b\nc*<b>x</b>~~删~~"}, ensure_ascii=False), encoding="utf-8")
    code, out, _ = run(capsys, "explain", str(case), "-r", str(rules), "--format", "markdown",
                       "--now", "2022-01-01 00:00:00")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("| y |"))
    assert row == r"| y | a\|b<br>c\*&lt;b>x&lt;/b>\~\~删\~\~ | R 一\|二 |"
    assert "《示例 \\| 规范》" in out


def _outputs_rulebook(tmp_path: Path, expect: object) -> Path:
    rules = tmp_path / "o.rules"
    rules.write_text("规则书 o\n文献 规范：《规范》\n结论：\n  m：金额\n  d：时长\n  单：记录（a：数，b：数？）\n"
                     "  l：列表〈数〉\n规则 R：\n  依据 规范 \"一\"\n"
                     "  则 m = 0元 - 5元，d = 0秒 - 1小时，单 = {a：1，b：空}，l = [空，3]\n", encoding="utf-8")
    (tmp_path / "o.tests.json").write_text(json.dumps(
        {"cases": [{"名称": "一", "输入": {}, "现在": "2022-01-01 00:00:00", "期望": expect}]}, ensure_ascii=False),
        encoding="utf-8")
    return rules


def test_tests_json_accepts_every_value_the_encoder_writes(capsys, tmp_path):
    # negative amounts and durations, null fields and elements: outputs, though never inputs
    expect = {"m": "-5.00", "d": "-PT1H", "单": {"a": 1, "b": None}, "l": [None, 3]}
    code, out, _ = run(capsys, "test", str(_outputs_rulebook(tmp_path, expect)))
    assert code == 0, out


@pytest.mark.parametrize("expect", [{"单": {"a": 1, "b": None, "c": 99}}, {"单": {"a": 1}}, {"l": [None, 3, 4]},
                                    {"m": "-5.01"}])
def test_tests_json_fails_an_expectation_with_a_field_or_element_too_many_or_too_few(capsys, tmp_path, expect):
    code, out, _ = run(capsys, "test", str(_outputs_rulebook(tmp_path, expect)))
    assert code != 0 and "0 passed, 1 failed" in out
