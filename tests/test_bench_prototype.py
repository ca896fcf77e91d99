"""bench/fused_prototype.py's hand-written fused function must keep giving exactly the
explanation the rulebook gives, or its figures in docs/性能.md mean nothing."""

from __future__ import annotations

from bench.fused_prototype import main


def test_fused_prototype_agrees_with_the_explained_path(capsys) -> None:  # noqa: ANN001
    assert main(["--cases", "60", "--repeats", "1"]) == 0
    assert "解释逐案一致" in capsys.readouterr().out
