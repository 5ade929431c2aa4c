"""Bad randomised-campaign files: one line naming the file, the column and the problem, exit 2,
and nothing written."""

from __future__ import annotations

import pandas as pd
import pytest

from retention_sim.cli import main


def _good(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": ["ctl", "mail"] * (n // 2),
            "recency": [1 + i % 12 for i in range(n)],
            "region": ["north", "south", "east"] * (n // 3),
            "bought": [1 if i % 7 == 0 else 0 for i in range(n)],
            "spend": [50.0 if i % 7 == 0 else 0.0 for i in range(n)],
        }
    )


BASE = ["--arm-col", "arm", "--control", "ctl", "--window-days", "14"]
BASE += ["--conversion-col", "bought", "--spend-col", "spend", "--feature-cols", "recency,region"]


def _run(tmp_path, frame: pd.DataFrame, *extra: str) -> tuple[int, str]:
    path = tmp_path / "exp.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "response.yaml"
    code = main(["calibrate-response", str(path), *BASE, *extra, "-o", str(out)])
    assert not out.exists()
    return code, str(path)


def _edit(**cols):
    f = _good()
    for k, v in cols.items():
        f[k] = v
    return f


CASES = {
    "missing column": (_good().drop(columns="bought"), (), "missing conversion column 'bought'"),
    "unknown control": (_good(), ("--control", "holdout"), "control arm 'holdout'"),
    "unknown treatment": (_good(), ("--treatment", "sms"), "treatment arm 'sms'"),
    "one arm only": (_edit(arm="ctl"), (), "holds only the control arm"),
    "non-numeric outcome": (_edit(bought=["yes"] * 60), (), "'bought': 60 value(s) are not 0 or 1"),
    "out-of-range outcome": (_edit(bought=[2] + [0] * 59), (), "are not 0 or 1 on line 2"),
    "negative spend": (_edit(spend=[-1.0] + [0.0] * 59), (), "not amounts of 0 or more"),
    "spend without conversion": (
        _edit(spend=[0.0, 9.0] + [0.0] * 58),
        (),
        "spend without a conversion on line 3",
    ),
    "blank feature": (_edit(recency=[""] + list(range(59))), (), "'recency': blank value"),
    "too many levels": (
        _edit(region=[f"r{i}" for i in range(60)]),
        (),
        "at most 50",
    ),
    "an arm without conversions": (
        _edit(bought=[1, 0] * 30, spend=[5.0, 0.0] * 30),
        (),
        "arm 'mail' has 30 customers and 0 conversions",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_experiment_files_get_one_line_and_status_2(case, tmp_path, capsys):
    frame, extra, message = CASES[case]
    code, path = _run(tmp_path, frame, *extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert path in err[0] and message in err[0], err[0]


def test_a_good_file_is_fitted_and_written(tmp_path, capsys):
    path = tmp_path / "exp.csv"
    _good(600).to_csv(path, index=False)
    out = tmp_path / "response.yaml"
    assert main(["calibrate-response", str(path), *BASE, "-o", str(out)]) == 0
    assert out.read_text().startswith("# Fitted by `retention-sim calibrate-response`")
    assert "mail" in capsys.readouterr().out


def test_window_days_must_be_positive(tmp_path):
    path = tmp_path / "exp.csv"
    _good().to_csv(path, index=False)
    args = [a if a != "14" else "0" for a in BASE]
    with pytest.raises(SystemExit) as exc:
        main(["calibrate-response", str(path), *args, "-o", str(tmp_path / "r.yaml")])
    assert exc.value.code == 2
