"""newsbot's answer engine: articles → passages → BM25 → the sentences that answer.

The pipeline, one module per stage: `load` → `split` → `analyze` (and `passages`) → `index`
→ `search` → `select` → `engine`. This package knows nothing of Telegram or YAML: it takes
plain typed settings (`retrieval.settings`).
"""

from retrieval.engine import Engine
from retrieval.errors import CorpusError, CorruptIndexError, RetrievalError, SettingsError
from retrieval.models import (
    Answer,
    AnswerSentence,
    Article,
    Context,
    Corpus,
    IndexStats,
    LoadProblem,
    Mention,
    RefreshReport,
    Source,
)
from retrieval.settings import (
    AnalysisSettings,
    AnswerSettings,
    BM25Settings,
    DecliningSettings,
    IndexSettings,
    PassageSettings,
    Settings,
)

__all__ = [
    "AnalysisSettings",
    "Answer",
    "AnswerSentence",
    "AnswerSettings",
    "IndexSettings",
    "Article",
    "BM25Settings",
    "Context",
    "Corpus",
    "CorpusError",
    "CorruptIndexError",
    "DecliningSettings",
    "Engine",
    "IndexStats",
    "LoadProblem",
    "Mention",
    "PassageSettings",
    "RefreshReport",
    "RetrievalError",
    "Settings",
    "SettingsError",
    "Source",
]
