/* protocol.c -- placeholder until the Protocol lands. */
#include "ext.h"

int
pgw_protocol_setup_types(PyObject *module, ModState *st)
{
    (void)module;
    (void)st;
    return 0;
}
