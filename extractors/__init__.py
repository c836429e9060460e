"""Text preparation and rule-driven extraction of the clarity checklist."""

from extractors.spacy_import import import_spacy

import_spacy()  # before any module here imports spaCy: without its command line (see `spacy_import`)
