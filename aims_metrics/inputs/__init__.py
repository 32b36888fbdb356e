"""What every input passes first: the one text rule (text.py) and the regular-file and output-path
checks (files.py). The lowest package: it imports nothing of the product."""
