"""``retention-sim store verify``: one line per damaged run, a count, status 1 on damage."""

from __future__ import annotations

import json

from retention_sim.cli.main import main

from ..conftest import SCENARIOS

ARGS = ["--customers", "200", "--days", "30", "-r", "2", "--seed", "1", "--no-progress"]


def test_store_verify_reports_damage_without_recomputing(tmp_path, capsys):
    out = tmp_path / "st"
    assert (
        main(["compare", str(SCENARIOS / "default.yaml"), "-p", "none", *ARGS, "--out", str(out)])
        == 0
    )
    capsys.readouterr()
    assert main(["store", "verify", str(out)]) == 0
    assert "2 run files checked, 0 damaged" in capsys.readouterr().out

    victim = sorted(out.glob("runs/*/*-r000000.json"))[0]
    data = json.loads(victim.read_text())
    data["metrics"]["profit"] *= 2
    victim.write_text(json.dumps(data))
    before = victim.read_text()
    assert main(["store", "verify", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"{victim}: run no_contact replication 0 is damaged "
        "(its content does not match its checksum)"
    )
    assert lines[1].endswith(
        "2 run files checked, 1 damaged; a study on this store recomputes them"
    )
    assert victim.read_text() == before  # verify recomputes nothing

    # the study announces the recompute in one line on standard error
    assert (
        main(["compare", str(SCENARIOS / "default.yaml"), "-p", "none", *ARGS, "--out", str(out)])
        == 0
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"retention-sim: warning: {victim}: run no_contact replication 0 is damaged "
        "(its content does not match its checksum); recomputing it"
    ]


def test_store_verify_refuses_a_folder_that_is_not_a_store(tmp_path, capsys):
    assert main(["store", "verify", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"retention-sim: error: {tmp_path}: is not a result store (no runs/ folder)\n"
