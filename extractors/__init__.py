"""Text preparation and rule-driven extraction of the clarity checklist."""

from extractors.compiled import install_source_finder
from extractors.spacy_import import import_spacy

install_source_finder()  # a compiled module older than its source runs from the source (see `compiled`)
import_spacy()  # before any module here imports spaCy: without its command line (see `spacy_import`)
