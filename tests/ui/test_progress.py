"""The progress bar: drawn on a terminal only (piped, rich would print each bar's last state among the lines)."""

from snndeploy.ui.progress import Bar


def test_piped_output_draws_no_bar(capsys):
    with Bar(enabled=True) as bar:
        task = bar.start("T=5", 2)
        bar.advance(task, "half")
        bar.finish(task, "done")
        assert not bar.enabled
    assert capsys.readouterr().out == ""
