"""Management review (ISO/IEC 42001 9.3): review records, actions, input assembly, finalisation.

A review record exists per quarter and revision. The latest revision is the one shown and edited;
a finalised revision is locked, and a change after that is a new draft revision that records who
changed it, when and why. Finalising renders the minutes and archives the PDF with its sha256
(documented information, 7.5).

Actions raised by a review have a life of their own: they are updated between meetings (status,
closing date, note) and listed under input a) of every later review until they are closed.
Inputs a) and d) are assembled from the data; b), c) and e) are texts of the record.
"""
