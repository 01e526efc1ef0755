# tests/scripts rules
