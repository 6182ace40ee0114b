"""Silence the known, harmless warnings of the FAB 4.8 / Flask 2.3 / mongoengine stack, and nothing else."""

import logging
import os
import warnings

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

_NOISY = [
    (r".*'_app_ctx_stack' is deprecated", DeprecationWarning),
    (r".*'_request_ctx_stack' is deprecated", DeprecationWarning),
    (r".*'locked_cached_property' is deprecated", DeprecationWarning),
    (r".*renders <input type=\"datetime\">", DeprecationWarning),
    (r".*Yielding raw tuples from iter_choices", DeprecationWarning),
    (r"The 'warn' method is deprecated", DeprecationWarning),
    (r".*pkg_resources is deprecated", UserWarning),
    (r"Passing SelectField choices as tuples is deprecated", DeprecationWarning),
]

for _message, _category in _NOISY:
    warnings.filterwarnings("ignore", message=_message, category=_category)
try:  # FAB imports its (unused) SQLAlchemy models
    from sqlalchemy.exc import MovedIn20Warning

    warnings.filterwarnings("ignore", category=MovedIn20Warning)
except ImportError:  # pragma: no cover
    pass


class _DropMessages(logging.Filter):
    def __init__(self, *fragments: str) -> None:
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(fragment in message for fragment in self.fragments)


def quiet_fab_logs() -> None:
    """Drop the FAB log lines that are known noise on MongoDB; everything else stays visible."""
    logging.getLogger("flask_appbuilder.security.mongoengine.manager").addFilter(
        _DropMessages("MongoEngine is deprecated")
    )
    logging.getLogger("flask_appbuilder.models.filters").addFilter(_DropMessages("Filter type not supported"))
    logging.getLogger("flask_appbuilder.utils.base").addFilter(_DropMessages("Invalid redirect detected"))
    logging.getLogger("flask_appbuilder.security.manager").addFilter(_DropMessages("No user yet created"))
    logging.getLogger("flask_appbuilder.forms").addFilter(_DropMessages("Column", "not supported"))
