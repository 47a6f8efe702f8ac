#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""validate-json.py SCHEMA FILE...: validate JSON documents against a JSON
Schema (draft 2020-12) with Debian's python3-jsonschema; print each error
with its JSON path and exit 1 when any document is invalid."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for path in sys.argv[2:]:
    with open(path) as f:
        doc = json.load(f)
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        print("%s: %s: %s" % (path, "/".join(str(p) for p in e.absolute_path) or "(root)", e.message))
        bad += 1
sys.exit(1 if bad else 0)
