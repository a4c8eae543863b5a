"""The law zoo: :class:`Param`, :class:`Law`, the registry and every registered law.

========================  ==============================================================  ===================
registry name             formula                                                         inputs
========================  ==============================================================  ===================
``chinchilla``            E + A/N^alpha + B/D^beta (Hoffmann et al. 2022)                  N, D
``chinchilla-tied``       the same with beta = alpha                                       N, D
``kaplan``                ((Nc/N)^(alpha_N/alpha_D) + Dc/D)^alpha_D (Kaplan et al. 2020)   N, D
``kaplan-steps``          (Nc/N)^alpha_N + (Sc/S_min)^alpha_S                               N, S_min
``power-N/D/C``           L_inf + (x0/x)^alpha (Henighan et al. 2020)                       N, D or C
``farseer``               exp(a3 N^g3 + b3) + exp(a2 N^g2 + b2)·D^(−exp(a1 N^g1 + b1))     N, D
``data-constrained``      E + A/N'^alpha + B/D'^beta with repeated data (Muennighoff 2023)  N, D, U
``sparse-average``        E + A/N_avg^alpha + B/D^beta (Jin et al. 2025)                    N_avg, D
``bnsl``, ``bnsl-2``      broken power law with 1 or 2 breaks (Caballero et al. 2022)       C
``lr-annealing``          L0 + A·S1^−alpha − C·S2(lam) over a whole curve (Tissue 2024)     a run's schedule
``lr-annealing-N``        the same across model sizes                                       schedule, N
``multi-power``           the Multi-Power law of a loss curve (Luo et al. 2025)             a run's schedule
========================  ==============================================================  ===================

Users add laws with :class:`FunctionLaw`, :class:`ExpressionLaw`, or a :class:`Law` subclass.
"""

from .base import Capabilities, Law, Param
from .bnsl import BNSL
from .chinchilla import Chinchilla, ChinchillaTied
from .curves import CurveLaw, LRAnnealing, LRAnnealingN, MultiPower, ScheduleSet
from .custom import ExpressionLaw, FunctionLaw
from .data_constrained import DataConstrained
from .expression import Expression
from .farseer import Farseer, farseer_stagewise
from .kaplan import Kaplan, KaplanSteps
from .power import PowerLaw
from .registry import Catalog, available_laws, catalog, get_law, law_from_dict, make_law, register
from .sparse import SparseAverage, average_density, average_density_discrete, average_density_from_curve

__all__ = [
    "Param", "Law", "Capabilities", "Expression", "register", "get_law", "available_laws", "law_from_dict", "make_law", "catalog", "Catalog",
    "Chinchilla", "ChinchillaTied", "Kaplan", "KaplanSteps", "PowerLaw", "Farseer", "farseer_stagewise",
    "DataConstrained", "SparseAverage", "average_density", "average_density_discrete",
    "average_density_from_curve", "BNSL", "FunctionLaw", "ExpressionLaw", "CurveLaw", "LRAnnealing",
    "LRAnnealingN", "MultiPower", "ScheduleSet",
]
