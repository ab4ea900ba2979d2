# The cffi module maturin generates (`ffi` declarations and the loaded `lib`); untyped.
from typing import Any

ffi: Any
lib: Any
