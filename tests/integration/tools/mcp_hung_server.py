"""An 'MCP server' that reads its stdin and never answers: initialize must time out."""

import sys
import time

sys.stdin.readline()
time.sleep(3600)
