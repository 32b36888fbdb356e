"""The closed vocabularies as people read them, one module each: the word, short form, symbol and
colour of every status (`status.py`) and finding type (`findings.py`), the palette they draw from
(`palette.py`), column labels (`labels.py`) and the wording helpers (`wording.py`: plurals,
numbers).

Pages, CLI tables and every PDF render from here; nothing else declares a status colour or a
finding-type label (tests/test_vocabulary.py scans for copies). This package imports nothing
else of aims_metrics, so every layer can use it."""
