#!/bin/sh
printf '+PONG\r\n'
