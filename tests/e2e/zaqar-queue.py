#!/usr/bin/python3
# What is in a stack server's Zaqar queue, seen with the server's own credentials (the zaqar section of
# its os_collect_config): a listing of every message, claimed ones included, that consumes nothing.
#   zaqar-queue.py BOOT count        -> number of messages
#   zaqar-queue.py BOOT deployments  -> number of messages whose metadata lists a deployment
#   zaqar-queue.py BOOT actions      -> the deploy_action of each listed deployment, oldest message first
import json
import sys
import urllib.request
import uuid


def call(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=20) as r:
        text = r.read()
        return r, json.loads(text) if text else None


def main():
    boot = json.load(open(sys.argv[1]))
    z = boot["zaqar"]
    auth = {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": {"id": z["user_id"], "password": z["password"]}}},
                     "scope": {"project": {"id": z["project_id"]}}}}
    r, tok = call("POST", z["auth_url"].rstrip("/") + "/auth/tokens", auth)
    token = r.headers["X-Subject-Token"]
    ep = [e["url"] for s in tok["token"]["catalog"] if s["type"] == "messaging"
          for e in s["endpoints"] if e["interface"] == "public"][0].rstrip("/")
    headers = {"X-Auth-Token": token, "Client-ID": str(uuid.uuid4())}
    path = "/v2/queues/%s/messages?echo=true&include_claimed=true&limit=20" % z["queue_id"]
    messages = []
    while path:
        _, page = call("GET", ep + path, headers=headers)
        got = (page or {}).get("messages", [])
        messages += got
        nxt = [l["href"] for l in (page or {}).get("links", []) if l.get("rel") == "next"]
        path = nxt[0] if got and nxt else None
    messages.sort(key=lambda m: -m.get("age", 0))
    if sys.argv[2] == "count":
        print(len(messages))
    elif sys.argv[2] == "deployments":
        print(sum(1 for m in messages if m["body"].get("deployments")))
    elif sys.argv[2] == "actions":
        for m in messages:
            for d in m["body"].get("deployments", []):
                print(" ".join(i.get("value", "") for i in d["inputs"] if i["name"] == "deploy_action"))


main()
