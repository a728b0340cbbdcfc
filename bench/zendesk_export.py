#!/usr/bin/env python3
"""Writes a synthetic Zendesk export of about SIZE_MB megabytes into OUT: users.json,
tickets.json (ONE JSON document, a single page holding every ticket, so the importer must
stream inside it) and ticket_audits.json (NDJSON, one audit per line). Used by
bench/import_source.sh to show that `vitals import --from zendesk` runs in bounded memory.

    bench/zendesk_export.py OUT SIZE_MB
"""
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone

out, size_mb = sys.argv[1], float(sys.argv[2])
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
start = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
agents = list(range(500, 540))
words = "invoice refund card login delivery parcel password order charge account".split()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


with open(os.path.join(out, "users.json"), "w") as f:
    users = [{"id": a, "role": "agent", "name": f"Agent {a}"} for a in agents]
    json.dump({"users": users, "next_page": None}, f)

target = size_mb * 1e6
written = 0
ticket_id = 0
tickets = open(os.path.join(out, "tickets.json"), "w")
audits = open(os.path.join(out, "ticket_audits.json"), "w")
tickets.write('{"tickets":[\n')
first = True
audit_id = 0
while written < target:
    ticket_id += 1
    created = start + timedelta(minutes=ticket_id * 3)
    requester = 100000 + ticket_id
    agent = rng.choice(agents)
    body = " ".join(rng.choice(words) for _ in range(40))
    ticket = {
        "id": ticket_id, "created_at": iso(created), "type": "question",
        "subject": body[:60], "description": body, "priority": rng.choice(["low", "normal", "high"]),
        "status": "solved", "requester_id": requester, "assignee_id": agent, "group_id": 7,
        "tags": [f"category_{rng.choice(words)}"], "via": {"channel": rng.choice(["email", "web", "chat"])},
    }
    line = ("" if first else ",\n") + json.dumps(ticket)
    first = False
    tickets.write(line)
    written += len(line)
    t = created
    events = [
        (requester, [{"id": 1, "type": "Comment", "author_id": requester, "body": body, "public": True},
                     {"id": 2, "type": "Create", "field_name": "status", "value": "new"}]),
        (agent, [{"id": 3, "type": "Change", "field_name": "assignee_id", "value": str(agent)},
                 {"id": 4, "type": "Comment", "author_id": agent, "body": body, "public": True},
                 {"id": 5, "type": "Change", "field_name": "status", "value": "solved"}]),
    ]
    for author, evs in events:
        audit_id += 1
        t += timedelta(minutes=rng.randint(5, 600))
        audit = {"id": audit_id, "ticket_id": ticket_id, "created_at": iso(t), "author_id": author,
                 "via": {"channel": "web"}, "events": evs}
        line = json.dumps(audit) + "\n"
        audits.write(line)
        written += len(line)
tickets.write("\n],\"next_page\":null}\n")
tickets.close()
audits.close()
print(f"{ticket_id} tickets, {audit_id} audits, {written / 1e6:.0f} MB in {out}")
