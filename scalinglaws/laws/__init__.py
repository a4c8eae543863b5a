"""The law zoo: :class:`Param`, :class:`Law`, the registry and every registered law."""

from .base import Law, Param
from .chinchilla import Chinchilla
from .farseer import Farseer, farseer_stagewise
from .kaplan import Kaplan, KaplanSteps
from .power import PowerLaw
from .expression import Expression
from .registry import available_laws, get_law, law_from_dict, register

__all__ = ["Param", "Law", "Expression", "Chinchilla", "Farseer", "farseer_stagewise", "Kaplan", "KaplanSteps",
           "PowerLaw", "register", "get_law", "available_laws", "law_from_dict"]
