/* The embedded media engine's relay in native code: one thread, one epoll set, every leg's
 * RTP socket.
 *
 * A leg that Python has given a partner (`forward`) is relayed here, packet by packet,
 * without the interpreter: the packet's sequence number and timestamp are shifted into the
 * partner's own stream exactly as RtpLeg._relay does, its audio is decoded (G.711 to 16-bit
 * PCM, by the table telephony/g711.py gives) and kept for the call's recording, and telephone-event
 * packets are copied up for the key-press decoder.
 * Every packet of a leg without a partner is handed up whole to the event loop (an eventfd
 * says when there is something to take), where RtpLeg.datagram_received treats it as before.
 *
 * The thread never takes the GIL and never touches a Python object; Python's calls take the
 * engine's mutex, under which the thread handles a whole epoll round. So when `stop_forward`
 * returns, no packet of that leg is in flight, and the stream state it hands back is final.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_DATAGRAM 4096
#define EPOLL_BATCH 128
#define READS_PER_WAKE 16     /* datagrams read from one socket before the next socket */
#define RECORD_NOTIFY 50      /* one second of one side: the loop is told to take them */
#define MAX_UPCALLS 20000     /* packets waiting for the loop, every leg together */
#define WAIT_MS 500

enum { UP_PACKET = 0, UP_DIGIT = 1, UP_RECORDED = 2 };

typedef struct Buffer {
    unsigned char *data;
    size_t len, cap;
} Buffer;

typedef struct Upcall {
    struct Upcall *next;
    int kind, fd;
    struct sockaddr_storage from;
    socklen_t from_len;
    size_t len;
    unsigned char data[];
} Upcall;

typedef struct Leg {
    int fd;
    uint64_t received, dropped;  /* relayed here, since the last stop_forward */
    int forwarding;
    /* where this leg's packets go: the partner's socket and far end */
    int out_fd;
    struct sockaddr_storage dest;
    socklen_t dest_len;
    int media_pt, event_pt;
    int record;
    /* a recorded leg's G.711 decoding: each code's 16-bit little-endian sample */
    unsigned char law[2 * 256];
    /* the partner's outgoing stream, owned here while forwarding */
    uint32_t ssrc, timestamp, ts_offset;
    uint16_t sequence, seq_offset;
    int offset_valid, marker;
    uint64_t sent, send_errors;
    /* recorded audio until the loop takes it: (sequence, samples) pairs, the decoded PCM, and
     * whether each sequence number followed the one before */
    Buffer meta, pcm;
    int recorded, record_notified, in_order;
    uint16_t last_recorded;
} Leg;

/* The relay thread's receive buffers, set up once: only that thread reads into them. */
typedef struct Reads {
    struct mmsghdr messages[READS_PER_WAKE];
    struct iovec vectors[READS_PER_WAKE];
    struct sockaddr_storage from[READS_PER_WAKE];
    unsigned char buffers[READS_PER_WAKE][MAX_DATAGRAM];
} Reads;

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mutex;
    pthread_t thread;
    int running, stopping;
    int epoll_fd, event_fd, wake_fd;
    Leg **legs;  /* by file descriptor */
    int legs_cap;
    Upcall *head, *tail;
    int upcalls, notified;
    uint64_t upcalls_dropped;
    Reads reads;
} Engine;

/* Room for `len` more bytes at b->data + b->len; -1 if memory ran out. */
static int buffer_reserve(Buffer *b, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len) cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) return -1;
        b->data = grown;
        b->cap = cap;
    }
    return 0;
}

static void notify(Engine *e) {
    if (!e->notified) {
        uint64_t one = 1;
        e->notified = 1;
        if (write(e->event_fd, &one, sizeof one) < 0) { /* the counter is already set */ }
    }
}

/* Queue something for the loop; 0 if it had to be dropped (the loop is too far behind). */
static int upcall(Engine *e, int kind, int fd, const struct sockaddr_storage *from,
                  socklen_t from_len, const unsigned char *data, size_t len) {
    if (e->upcalls >= MAX_UPCALLS) {
        e->upcalls_dropped++;
        return 0;
    }
    Upcall *u = malloc(sizeof(Upcall) + len);
    if (!u) {
        e->upcalls_dropped++;
        return 0;
    }
    u->next = NULL;
    u->kind = kind;
    u->fd = fd;
    u->from_len = from_len;
    if (from_len) memcpy(&u->from, from, from_len);
    u->len = len;
    if (len) memcpy(u->data, data, len);
    if (e->tail) e->tail->next = u; else e->head = u;
    e->tail = u;
    e->upcalls++;
    notify(e);
    return 1;
}

/* A recorded packet's audio, decoded into the leg's PCM (16-bit little-endian, as WAV wants). */
static void record(Engine *e, Leg *leg, uint16_t sequence, const unsigned char *payload,
                   size_t length) {
    if (buffer_reserve(&leg->meta, 4) < 0 || buffer_reserve(&leg->pcm, 2 * length) < 0) return;
    unsigned char *meta = leg->meta.data + leg->meta.len;
    meta[0] = sequence & 0xFF;
    meta[1] = sequence >> 8;
    meta[2] = length & 0xFF;
    meta[3] = (length >> 8) & 0xFF;
    leg->meta.len += 4;
    unsigned char *out = leg->pcm.data + leg->pcm.len;
    for (size_t i = 0; i < length; i++) memcpy(out + 2 * i, leg->law + 2 * payload[i], 2);
    leg->pcm.len += 2 * length;
    if (leg->recorded == 0)
        leg->in_order = 1;
    else if (sequence != (uint16_t)(leg->last_recorded + 1))
        leg->in_order = 0;
    leg->last_recorded = sequence;
    leg->recorded++;
    if (leg->recorded >= RECORD_NOTIFY && !leg->record_notified)
        leg->record_notified = upcall(e, UP_RECORDED, leg->fd, NULL, 0, NULL, 0);
}

/* One packet of a forwarding leg: what RtpLeg.datagram_received and _relay do for a latched,
 * bridged, unmuted leg. */
static void relay(Engine *e, Leg *leg, unsigned char *buf, size_t n,
                  const struct sockaddr_storage *from, socklen_t from_len) {
    if (n < 12 || (buf[0] >> 6) != 2) {
        leg->dropped++;
        return;
    }
    size_t header = 12 + 4 * (size_t)(buf[0] & 0x0F);
    size_t end = n;
    if (buf[0] & 0x10) {  /* header extension */
        if (header + 4 > n) { leg->dropped++; return; }
        header += 4 + 4 * (size_t)((buf[header + 2] << 8) | buf[header + 3]);
    }
    if (buf[0] & 0x20) {  /* padding */
        size_t padding = buf[n - 1];
        if (padding == 0 || padding > n) { leg->dropped++; return; }
        end = n - padding;
    }
    if (header > end) { leg->dropped++; return; }
    leg->received++;
    int payload_type = buf[1] & 0x7F;
    int marker = (buf[1] & 0x80) != 0;
    uint16_t sequence = (uint16_t)((buf[2] << 8) | buf[3]);
    uint32_t timestamp = ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) |
                         ((uint32_t)buf[6] << 8) | buf[7];
    unsigned char *payload = buf + header;
    size_t length = end - header;

    if (payload_type == leg->event_pt) {
        upcall(e, UP_DIGIT, leg->fd, from, from_len, buf, n);
    } else if (leg->record && payload_type == leg->media_pt) {
        record(e, leg, sequence, payload, length);
    }

    if (!leg->offset_valid) {
        leg->ts_offset = leg->timestamp - timestamp;
        leg->seq_offset = (uint16_t)(leg->sequence + 1 - sequence);
        leg->marker = 1;
        leg->offset_valid = 1;
    }
    uint32_t out_timestamp = timestamp + leg->ts_offset;
    uint16_t out_sequence = (uint16_t)(sequence + leg->seq_offset);
    /* the header is rewritten in place: 12 bytes before the payload, no CSRC or extension */
    unsigned char *out = payload - 12;
    out[0] = 0x80;
    out[1] = (unsigned char)(((marker || leg->marker) ? 0x80 : 0) | payload_type);
    out[2] = out_sequence >> 8;
    out[3] = out_sequence & 0xFF;
    out[4] = out_timestamp >> 24;
    out[5] = (out_timestamp >> 16) & 0xFF;
    out[6] = (out_timestamp >> 8) & 0xFF;
    out[7] = out_timestamp & 0xFF;
    out[8] = leg->ssrc >> 24;
    out[9] = (leg->ssrc >> 16) & 0xFF;
    out[10] = (leg->ssrc >> 8) & 0xFF;
    out[11] = leg->ssrc & 0xFF;
    leg->marker = 0;
    if (sendto(leg->out_fd, out, 12 + length, MSG_DONTWAIT, (struct sockaddr *)&leg->dest,
               leg->dest_len) < 0) {
        leg->send_errors++;
    } else {
        leg->sent++;
    }
    if ((uint16_t)(out_sequence - leg->sequence) < 0x8000) {
        leg->sequence = out_sequence;
        leg->timestamp = out_timestamp + (uint32_t)length;
    }
}

/* Every datagram waiting on a leg's socket (up to READS_PER_WAKE) in one system call: a
 * socket of a 50-packets-a-second stream nearly always has one, and reading it with recvfrom
 * would take a second call to learn there is no other. */
static void read_leg(Engine *e, Leg *leg) {
    Reads *r = &e->reads;
    for (int i = 0; i < READS_PER_WAKE; i++) r->messages[i].msg_hdr.msg_namelen = sizeof r->from[i];
    int n = recvmmsg(leg->fd, r->messages, READS_PER_WAKE, MSG_DONTWAIT, NULL);
    /* n < 0: nothing waiting, or an ICMP port unreachable and the like (the socket stays;
     * epoll reports it again if a datagram is behind the error) */
    for (int i = 0; i < n; i++) {
        unsigned char *buf = r->buffers[i];
        size_t length = r->messages[i].msg_len;
        socklen_t from_len = r->messages[i].msg_hdr.msg_namelen;
        if (leg->forwarding)
            relay(e, leg, buf, length, &r->from[i], from_len);
        else
            upcall(e, UP_PACKET, leg->fd, &r->from[i], from_len, buf, length);
    }
}

static Leg *leg_of(Engine *e, int fd) {
    return (fd >= 0 && fd < e->legs_cap) ? e->legs[fd] : NULL;
}

static void *run(void *arg) {
    Engine *e = arg;
    struct epoll_event events[EPOLL_BATCH];
    for (;;) {
        int n = epoll_wait(e->epoll_fd, events, EPOLL_BATCH, WAIT_MS);
        pthread_mutex_lock(&e->mutex);
        if (e->stopping) {
            pthread_mutex_unlock(&e->mutex);
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.fd < 0) continue;  /* the wake-up of close() */
            /* looked up under the mutex: a leg removed since epoll_wait is simply gone */
            Leg *leg = leg_of(e, events[i].data.fd);
            if (leg) read_leg(e, leg);
        }
        pthread_mutex_unlock(&e->mutex);
    }
}

/* ---- Python side ---- */

/* The engine's mutex, taken by a Python call: when the thread holds it (a round of packets),
 * wait without the GIL so that the loop's other threads (the recording worker) run. */
static void lock(Engine *e) {
    if (pthread_mutex_trylock(&e->mutex) == 0) return;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&e->mutex);
    Py_END_ALLOW_THREADS
}

static int engine_init(Engine *e, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist)) return -1;
    if (e->running) return 0;
    e->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    e->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event wake = {.events = EPOLLIN, .data.fd = -1};
    if (e->epoll_fd < 0 || e->event_fd < 0 || e->wake_fd < 0 ||
        epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, e->wake_fd, &wake) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    Reads *r = &e->reads;
    for (int i = 0; i < READS_PER_WAKE; i++) {
        r->vectors[i] = (struct iovec){.iov_base = r->buffers[i], .iov_len = MAX_DATAGRAM};
        r->messages[i].msg_hdr = (struct msghdr){
            .msg_name = &r->from[i], .msg_iov = &r->vectors[i], .msg_iovlen = 1};
    }
    pthread_mutex_init(&e->mutex, NULL);
    if (pthread_create(&e->thread, NULL, run, e) != 0) {
        PyErr_SetString(PyExc_OSError, "cannot start the relay thread");
        return -1;
    }
    e->running = 1;
    return 0;
}

static void free_leg(Leg *leg) {
    free(leg->meta.data);
    free(leg->pcm.data);
    free(leg);
}

static void stop(Engine *e) {
    if (!e->running) return;
    lock(e);
    e->stopping = 1;
    pthread_mutex_unlock(&e->mutex);
    uint64_t one = 1;
    if (write(e->wake_fd, &one, sizeof one) < 0) { /* it wakes within WAIT_MS anyway */ }
    Py_BEGIN_ALLOW_THREADS
    pthread_join(e->thread, NULL);
    Py_END_ALLOW_THREADS
    e->running = 0;
    for (int fd = 0; fd < e->legs_cap; fd++) {
        if (e->legs[fd]) free_leg(e->legs[fd]);
    }
    free(e->legs);
    e->legs = NULL;
    e->legs_cap = 0;
    while (e->head) {
        Upcall *next = e->head->next;
        free(e->head);
        e->head = next;
    }
    e->tail = NULL;
    close(e->epoll_fd);
    close(e->event_fd);
    close(e->wake_fd);
}

static void engine_dealloc(Engine *e) {
    stop(e);
    Py_TYPE(e)->tp_free((PyObject *)e);
}

static PyObject *engine_close(Engine *e, PyObject *unused) {
    stop(e);
    Py_RETURN_NONE;
}

static PyObject *engine_fileno(Engine *e, PyObject *unused) {
    return PyLong_FromLong(e->event_fd);
}

static int check_running(Engine *e) {
    if (!e->running) {
        PyErr_SetString(PyExc_RuntimeError, "the relay is closed");
        return 0;
    }
    return 1;
}

static PyObject *engine_add(Engine *e, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd) || !check_running(e)) return NULL;
    if (fd < 0) return PyErr_Format(PyExc_ValueError, "bad file descriptor %d", fd);
    Leg *leg = calloc(1, sizeof(Leg));
    if (!leg) return PyErr_NoMemory();
    leg->fd = fd;
    leg->event_pt = -1;
    lock(e);
    if (fd >= e->legs_cap) {
        int cap = e->legs_cap ? e->legs_cap : 256;
        while (cap <= fd) cap *= 2;
        Leg **grown = realloc(e->legs, sizeof(Leg *) * (size_t)cap);
        if (!grown) {
            pthread_mutex_unlock(&e->mutex);
            free(leg);
            return PyErr_NoMemory();
        }
        memset(grown + e->legs_cap, 0, sizeof(Leg *) * (size_t)(cap - e->legs_cap));
        e->legs = grown;
        e->legs_cap = cap;
    }
    if (e->legs[fd]) {
        pthread_mutex_unlock(&e->mutex);
        free(leg);
        return PyErr_Format(PyExc_ValueError, "file descriptor %d is already relayed", fd);
    }
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
        pthread_mutex_unlock(&e->mutex);
        free(leg);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    e->legs[fd] = leg;
    pthread_mutex_unlock(&e->mutex);
    Py_RETURN_NONE;
}

static PyObject *engine_remove(Engine *e, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd) || !check_running(e)) return NULL;
    lock(e);
    Leg *leg = leg_of(e, fd);
    if (leg) {
        epoll_ctl(e->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        e->legs[fd] = NULL;
        /* what it left waiting must not reach a later socket given the same number */
        Upcall **link = &e->head;
        e->tail = NULL;
        while (*link) {
            Upcall *u = *link;
            if (u->fd == fd) {
                *link = u->next;
                e->upcalls--;
                free(u);
            } else {
                e->tail = u;
                link = &u->next;
            }
        }
    }
    pthread_mutex_unlock(&e->mutex);
    if (leg) free_leg(leg);
    Py_RETURN_NONE;
}

static int parse_address(const char *host, int port, struct sockaddr_storage *out,
                         socklen_t *len) {
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return 0;
    }
    return -1;
}

/* forward(fd, out_fd, host, port, media_pt, event_pt, law,
 *         ssrc, sequence, timestamp, offset_valid, ts_offset, seq_offset, marker) */
static PyObject *engine_forward(Engine *e, PyObject *args) {
    int fd, out_fd, port, media_pt, event_pt, offset_valid, marker;
    const char *host, *law;
    Py_ssize_t law_len;
    unsigned int ssrc, timestamp, ts_offset, sequence, seq_offset;
    if (!PyArg_ParseTuple(args, "iisiiiy#IIIpIIp", &fd, &out_fd, &host, &port, &media_pt,
                          &event_pt, &law, &law_len, &ssrc, &sequence, &timestamp, &offset_valid,
                          &ts_offset, &seq_offset, &marker) ||
        !check_running(e))
        return NULL;
    /* law: a recorded leg's decoding table (256 little-endian samples), empty if not recorded */
    if (law_len != 0 && law_len != (Py_ssize_t)sizeof(((Leg *)NULL)->law))
        return PyErr_Format(PyExc_ValueError, "a decoding table has 512 bytes, not %zd", law_len);
    struct sockaddr_storage dest;
    socklen_t dest_len;
    if (parse_address(host, port, &dest, &dest_len) < 0)
        return PyErr_Format(PyExc_ValueError, "not a numeric address: %s", host);
    lock(e);
    Leg *leg = leg_of(e, fd);
    if (!leg) {
        pthread_mutex_unlock(&e->mutex);
        return PyErr_Format(PyExc_KeyError, "file descriptor %d is not relayed", fd);
    }
    leg->out_fd = out_fd;
    leg->dest = dest;
    leg->dest_len = dest_len;
    leg->media_pt = media_pt;
    leg->event_pt = event_pt;
    leg->record = law_len != 0;
    if (leg->record) memcpy(leg->law, law, sizeof leg->law);
    leg->ssrc = ssrc;
    leg->sequence = (uint16_t)sequence;
    leg->timestamp = timestamp;
    leg->offset_valid = offset_valid;
    leg->ts_offset = ts_offset;
    leg->seq_offset = (uint16_t)seq_offset;
    leg->marker = marker;
    leg->received = leg->dropped = leg->sent = leg->send_errors = 0;
    leg->forwarding = 1;
    pthread_mutex_unlock(&e->mutex);
    Py_RETURN_NONE;
}

static PyObject *counts_of(Leg *leg) {
    return Py_BuildValue("(KKKK)", (unsigned long long)leg->received,
                         (unsigned long long)leg->dropped, (unsigned long long)leg->sent,
                         (unsigned long long)leg->send_errors);
}

/* The stream state and counts of a forwarding leg, which then hands its packets up again:
 * (sequence, timestamp, offset_valid, ts_offset, seq_offset, marker,
 *  received, dropped, sent, send_errors) */
static PyObject *engine_stop_forward(Engine *e, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd) || !check_running(e)) return NULL;
    lock(e);
    Leg *leg = leg_of(e, fd);
    if (!leg || !leg->forwarding) {
        pthread_mutex_unlock(&e->mutex);
        Py_RETURN_NONE;
    }
    leg->forwarding = 0;
    Leg copy = *leg;
    leg->received = leg->dropped = leg->sent = leg->send_errors = 0;
    pthread_mutex_unlock(&e->mutex);
    return Py_BuildValue("(IIiIIiKKKK)", copy.sequence, copy.timestamp, copy.offset_valid,
                         copy.ts_offset, (unsigned int)copy.seq_offset, copy.marker,
                         (unsigned long long)copy.received, (unsigned long long)copy.dropped,
                         (unsigned long long)copy.sent, (unsigned long long)copy.send_errors);
}

/* (received, dropped, sent, send_errors) of a forwarding leg so far */
static PyObject *engine_counts(Engine *e, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd) || !check_running(e)) return NULL;
    lock(e);
    Leg *leg = leg_of(e, fd);
    PyObject *result = (leg && leg->forwarding) ? counts_of(leg) : Py_BuildValue("(iiii)", 0, 0, 0, 0);
    pthread_mutex_unlock(&e->mutex);
    return result;
}

/* A packet the loop took before the leg began forwarding: relayed as if it had come now. */
static PyObject *engine_inject(Engine *e, PyObject *args) {
    int fd;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "iy*", &fd, &data)) return NULL;
    if (!check_running(e) || data.len > MAX_DATAGRAM) {
        PyBuffer_Release(&data);
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "datagram too large");
        return NULL;
    }
    unsigned char buf[MAX_DATAGRAM];
    memcpy(buf, data.buf, (size_t)data.len);
    size_t n = (size_t)data.len;
    PyBuffer_Release(&data);
    lock(e);
    Leg *leg = leg_of(e, fd);
    int done = leg && leg->forwarding;
    if (done) relay(e, leg, buf, n, NULL, 0);
    pthread_mutex_unlock(&e->mutex);
    return PyBool_FromLong(done);
}

/* (meta, pcm, in_order): the recorded packets of a leg since the last take. `meta` holds a
 * little-endian (sequence, samples) pair of 16-bit numbers per packet, `pcm` their audio. */
static PyObject *engine_take_recorded(Engine *e, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd) || !check_running(e)) return NULL;
    lock(e);
    Leg *leg = leg_of(e, fd);
    Buffer meta = {0}, pcm = {0};
    int in_order = 0;
    if (leg) {
        meta = leg->meta;
        pcm = leg->pcm;
        in_order = leg->in_order;
        memset(&leg->meta, 0, sizeof leg->meta);
        memset(&leg->pcm, 0, sizeof leg->pcm);
        leg->recorded = 0;
        leg->record_notified = 0;
    }
    pthread_mutex_unlock(&e->mutex);
    PyObject *result = Py_BuildValue("(y#y#O)", meta.data ? (char *)meta.data : "",
                                     (Py_ssize_t)meta.len, pcm.data ? (char *)pcm.data : "",
                                     (Py_ssize_t)pcm.len, in_order ? Py_True : Py_False);
    free(meta.data);
    free(pcm.data);
    return result;
}

static PyObject *address_of(const Upcall *u) {
    char host[INET6_ADDRSTRLEN] = "";
    if (u->from_len == 0) Py_RETURN_NONE;
    if (u->from.ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&u->from;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        return Py_BuildValue("(si)", host, ntohs(v4->sin_port));
    }
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&u->from;
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    return Py_BuildValue("(siIk)", host, ntohs(v6->sin6_port), ntohl(v6->sin6_flowinfo),
                         (unsigned long)v6->sin6_scope_id);
}

/* Everything waiting for the loop, oldest first: (kind, fd, data, address) tuples. */
static PyObject *engine_drain(Engine *e, PyObject *unused) {
    if (!check_running(e)) return NULL;
    uint64_t counter;
    if (read(e->event_fd, &counter, sizeof counter) < 0) { /* nothing signalled yet */ }
    lock(e);
    Upcall *u = e->head;
    e->head = e->tail = NULL;
    e->upcalls = 0;
    e->notified = 0;
    pthread_mutex_unlock(&e->mutex);
    PyObject *items = PyList_New(0);
    while (u) {
        Upcall *next = u->next;
        if (items) {
            PyObject *address = address_of(u);
            PyObject *item = address ? Py_BuildValue("(iiy#N)", u->kind, u->fd, (char *)u->data,
                                                     (Py_ssize_t)u->len, address)
                                     : NULL;
            if (!item || PyList_Append(items, item) < 0) Py_CLEAR(items);
            Py_XDECREF(item);
        }
        free(u);
        u = next;
    }
    return items;
}

static PyObject *engine_upcalls_dropped(Engine *e, void *closure) {
    return PyLong_FromUnsignedLongLong(e->upcalls_dropped);
}

/* interleave(left, right): two equal-length 16-bit mono buffers to one stereo buffer. */
static PyObject *interleave(PyObject *module, PyObject *args) {
    Py_buffer left, right;
    if (!PyArg_ParseTuple(args, "y*y*", &left, &right)) return NULL;
    PyObject *stereo = NULL;
    if (left.len != right.len || left.len % 2) {
        PyErr_SetString(PyExc_ValueError, "both channels must have the same even length");
    } else if ((stereo = PyBytes_FromStringAndSize(NULL, 2 * left.len))) {
        const uint16_t *l = left.buf, *r = right.buf;
        uint16_t *out = (uint16_t *)PyBytes_AS_STRING(stereo);
        for (Py_ssize_t i = 0; i < left.len / 2; i++) {
            uint16_t a, b;  /* copied whole: the byte order stays as it came */
            memcpy(&a, l + i, 2);
            memcpy(&b, r + i, 2);
            memcpy(out + 2 * i, &a, 2);
            memcpy(out + 2 * i + 1, &b, 2);
        }
    }
    PyBuffer_Release(&left);
    PyBuffer_Release(&right);
    return stereo;
}

static PyMethodDef module_methods[] = {
    {"interleave", interleave, METH_VARARGS, "Two 16-bit mono buffers to one stereo buffer."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef engine_methods[] = {
    {"fileno", (PyCFunction)engine_fileno, METH_NOARGS, "The eventfd that is readable when drain() has something."},
    {"add", (PyCFunction)engine_add, METH_VARARGS, "Read a leg's socket from now on."},
    {"remove", (PyCFunction)engine_remove, METH_VARARGS, "Stop reading a leg's socket."},
    {"forward", (PyCFunction)engine_forward, METH_VARARGS, "Relay a leg's packets to its partner."},
    {"stop_forward", (PyCFunction)engine_stop_forward, METH_VARARGS, "Hand a leg's packets up again; its state."},
    {"counts", (PyCFunction)engine_counts, METH_VARARGS, "A forwarding leg's counts so far."},
    {"inject", (PyCFunction)engine_inject, METH_VARARGS, "Relay a packet taken earlier."},
    {"take_recorded", (PyCFunction)engine_take_recorded, METH_VARARGS, "A leg's recorded packets."},
    {"drain", (PyCFunction)engine_drain, METH_NOARGS, "Packets and notices waiting for the loop."},
    {"close", (PyCFunction)engine_close, METH_NOARGS, "Stop the thread."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef engine_getset[] = {
    {"upcalls_dropped", (getter)engine_upcalls_dropped, NULL, "Packets dropped because the loop was too far behind.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "telephony._rtprelay.Engine",
    .tp_basicsize = sizeof(Engine),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)engine_init,
    .tp_dealloc = (destructor)engine_dealloc,
    .tp_methods = engine_methods,
    .tp_getset = engine_getset,
    .tp_doc = "The relay thread and its epoll set.",
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rtprelay", "RTP relaying off the interpreter.", -1, module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rtprelay(void) {
    if (PyType_Ready(&EngineType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&EngineType);
    if (PyModule_AddObject(m, "Engine", (PyObject *)&EngineType) < 0) {
        Py_DECREF(&EngineType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "PACKET", UP_PACKET);
    PyModule_AddIntConstant(m, "DIGIT", UP_DIGIT);
    PyModule_AddIntConstant(m, "RECORDED", UP_RECORDED);
    return m;
}
