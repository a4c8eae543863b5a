"""The law zoo: :class:`Param`, :class:`Law`, the registry and every registered law."""

from .base import Law, Param
from .chinchilla import Chinchilla
from .expression import Expression
from .registry import available_laws, get_law, law_from_dict, register

__all__ = ["Param", "Law", "Expression", "Chinchilla", "register", "get_law", "available_laws", "law_from_dict"]
