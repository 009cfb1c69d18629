"""Index settings of a full build: the index a rebuild fills is created
with refresh_interval -1 (nobody searches it before its alias moves), and
before the alias moves it gets the mapping file's refresh_interval back
(the engine's default when the file sets none) and is refreshed, so the
alias never points at an index whose documents are not all searchable.

Each test writes its own mapping file (the shipped one, its
refresh_interval flat, nested under "index", or absent), loads the
catalogue, asks for a rebuild with SIGUSR1 and reads _settings of the
build index while it loads (batches of ten: a hundred build batches) and
of the live index after the swap."""
import copy
import json
import signal

import pytest

from etlproc import ETC, make_config, run_worker, wait_caught_up, wait_until

MAPPING = json.loads((ETC / "elasticsearch" / "movies.json").read_text())
BATCH_SIZE = 10
FILMS = 999


def refresh_interval(es, index):
    """index.refresh_interval as _settings shows it (None: not set, the
    engine's default)."""
    body = es.get(f"/{index}/_settings").json()
    (settings,) = body.values()
    return settings["settings"]["index"].get("refresh_interval")


def mapping_with(interval, nested):
    """The shipped mapping file with refresh_interval set to interval (None:
    removed), flat in "settings" or nested in "settings.index"."""
    definition = copy.deepcopy(MAPPING)
    settings = definition["settings"]
    settings.pop("refresh_interval", None)
    if interval is not None:
        if nested:
            settings["index"] = {"refresh_interval": interval}
        else:
            settings["refresh_interval"] = interval
    return definition


@pytest.mark.parametrize("interval,nested", [("1s", False), ("2s", True), (None, False)],
                         ids=["shipped", "nested", "absent"])
def test_a_build_loads_without_refresh_and_swaps_with_the_file_settings(
        tmp_path, pg, es, catalog, bin_dir, workers, interval, nested):
    mapping = tmp_path / "movies.json"
    mapping.write_text(json.dumps(mapping_with(interval, nested)))
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("etl", "batch_size"): str(BATCH_SIZE),
                                           ("index.movies", "mapping"): str(mapping)})
    alias = names["movies"]
    w = run_worker(bin_dir, config)
    workers.append(w)
    wait_caught_up(w, timeout=180, what="the first load")
    first = w.events("index created")[0]["concrete"]
    # The first load fills the live index in place, searchable as it fills:
    # the file's settings from the start.
    assert refresh_interval(es, first) == interval

    n = len(w.events())
    w.signal(signal.SIGUSR1)
    batch = w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "build batch"],
                       timeout=60, what="the build to load")[0]
    build = batch["concrete"]
    assert refresh_interval(es, build) == "-1"
    assert not [e for e in w.events()[n:] if e.get("msg") == "alias moved"], "build too short"

    w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "alias moved"], timeout=300,
               what="the swap")
    live = es.get(f"/_alias/{alias}").json()
    assert list(live) == [build]
    assert refresh_interval(es, build) == interval
    # Refreshed before the swap: every document searchable at once, with
    # no refresh asked by the test.
    count = es.post(f"/{alias}/_search", json={"size": 0, "track_total_hits": True}).json()
    assert count["hits"]["total"]["value"] == FILMS


def test_a_resumed_build_still_swaps_with_the_file_settings(tmp_path, pg, es, catalog, bin_dir,
                                                            workers):
    """kill -9 in the middle of a build: the build index keeps -1 on the
    cluster, the resumed worker restores the file's value at its swap."""
    config, names = make_config(tmp_path, pg, es, catalog,
                                overrides={("etl", "batch_size"): str(BATCH_SIZE)})
    alias = names["movies"]
    w = run_worker(bin_dir, config)
    workers.append(w)
    wait_caught_up(w, timeout=180, what="the first load")
    n = len(w.events())
    w.signal(signal.SIGUSR1)
    build = w.wait_for(lambda ev: [e for e in ev[n:] if e.get("msg") == "build batch"],
                       timeout=60, what="the build to load")[0]["concrete"]
    w.kill()
    assert refresh_interval(es, build) == "-1"
    w = run_worker(bin_dir, config)
    workers.append(w)
    w.wait_for(lambda ev: any(e.get("msg") == "alias moved" for e in ev), timeout=300,
               what="the resumed build's swap")
    assert list(es.get(f"/_alias/{alias}").json()) == [build]
    assert refresh_interval(es, build) == MAPPING["settings"]["refresh_interval"]
    wait_until(lambda: es.post(f"/{alias}/_search", json={"size": 0}).json()["hits"]["total"]["value"] == FILMS,
               timeout=5, what="every film searchable")
