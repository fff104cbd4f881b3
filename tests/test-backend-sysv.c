#include "testutil.h"
Test(todo, backend_sysv) { cr_assert(1); }
