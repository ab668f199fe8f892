#!/usr/bin/env bash

sleep 3
echo "SLEEP 3 SECOND"
exit 0

