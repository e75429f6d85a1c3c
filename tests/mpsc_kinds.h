/*
 * mpsc_kinds.h: the two mpsc kinds (local and thread-safe) behind one set
 * of unions, so that a test body can run on both (test_mpsc.c,
 * test_mpsc_many.c). Tests only.
 */
#ifndef CFUT_TEST_MPSC_KINDS_H
#define CFUT_TEST_MPSC_KINDS_H

#include <cfut.h>

union mtx {
    struct cfut_mpsc_sender l;
    struct cfut_mpsc_sync_sender s;
};
union mrx {
    struct cfut_mpsc_receiver l;
    struct cfut_mpsc_sync_receiver s;
};
union msend {
    struct cfut_future base;
    struct cfut_mpsc_send l;
    struct cfut_mpsc_sync_send s;
};
union mrecv {
    struct cfut_future base;
    struct cfut_mpsc_recv l;
    struct cfut_mpsc_sync_recv s;
};

#endif /* CFUT_TEST_MPSC_KINDS_H */
