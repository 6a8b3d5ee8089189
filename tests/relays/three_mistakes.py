#!/usr/bin/env python3
"""The relay a new user writes from the README's contract, with three realistic mistakes:

  1. `ts` in milliseconds (CleverTap wants epoch seconds; it rejects the records with 525);
  2. no sandbox filter (sandbox events are forwarded whatever `send_sandbox` says);
  3. no retry on 429/5xx (the records are dropped and the webhook is still answered 200).

It is tests/relays/relay.py with those three BREAK modes; FIXED=1 (or FIXED=ts,sandbox,retry for
some of them) turns mistakes off, to measure the way to green one fix at a time.
"""

import os
import runpy
import sys

MISTAKES = {"ts": "ms-timestamp", "sandbox": "leak-sandbox", "retry": "no-retry"}
fixed = os.environ.get("FIXED", "")
fixed = set(MISTAKES) if fixed == "1" else set(filter(None, fixed.split(",")))
os.environ["BREAK"] = ",".join(mode for key, mode in MISTAKES.items() if key not in fixed)
here = os.path.dirname(os.path.abspath(__file__))
sys.argv = [os.path.join(here, "relay.py")]
runpy.run_path(sys.argv[0], run_name="__main__")
