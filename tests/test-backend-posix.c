#include "testutil.h"
Test(todo, backend_posix) { cr_assert(1); }
