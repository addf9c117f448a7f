"""What a run leaves behind, all read from one settled result dict (results.RunResult.to_dict()): the JSON and
JUnit files (files.py), the HTML report (html.py) and the replayable script of a step log (replay.py)."""
