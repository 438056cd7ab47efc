"""The tool gateway: sandboxed code, the calculator, the network policy of HTTP tools."""
