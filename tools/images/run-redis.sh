#!/bin/sh
# podhook.local/redis:1 — not redis: answers "+PONG" to every connection on port 6379, which is all the
# examples and tests ask of it. -ll keeps listening after each connection.
exec nc -ll -p 6379 -e /pong.sh
