#include "testutil.h"
Test(todo, leaks) { cr_assert(1); }
