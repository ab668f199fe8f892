#!/usr/bin/env bash

echo "NonOK"
exit 1

