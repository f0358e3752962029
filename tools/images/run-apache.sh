#!/bin/sh
# podhook.local/apache:1 — busybox httpd in the foreground, serving /var/www on port 80.
exec httpd -f -p 80 -h /var/www
