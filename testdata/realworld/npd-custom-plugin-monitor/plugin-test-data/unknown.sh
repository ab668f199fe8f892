#!/usr/bin/env bash

echo "UNKNOWN"
exit 3

