/* firstbuf: time from starting a `mmssrc location=URL ! fakesink` pipeline
 * (set to PLAYING) to the first buffer reaching the sink, in milliseconds,
 * then to end of stream, and the process CPU time (user + system) spent
 * between the two, so throughput and CPU per byte exclude process start-up
 * and plugin loading.  Used by bench/run.sh.
 *
 * usage: firstbuf URL [RUNS [PROPERTY=VALUE...]]   prints one line per run:
 *        "first_buffer_ms=X first_media_ms=M total_ms=Y bytes=Z cpu_s=C transport=T"
 *        (first buffer = the ASF header; first media = the first data packets)
 *        (PROPERTY=VALUE pairs are set on mmssrc, e.g. udp-timeout=1000000)
 * Build: cc -O2 -Wall -o firstbuf firstbuf.c $(pkg-config --cflags --libs gstreamer-1.0)
 */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct {
  gint64 start, first, first_media;
  guint64 bytes;
} Probe;

static void on_handoff(GstElement *sink, GstBuffer *buf, GstPad *pad, gpointer data)
{
  (void)sink;
  (void)pad;
  Probe *p = data;
  if (p->first == 0)
    p->first = g_get_monotonic_time();
  /* The ASF header is buffer offset 0; data packets follow it. */
  if (p->first_media == 0 && GST_BUFFER_OFFSET(buf) != 0 && GST_BUFFER_OFFSET_IS_VALID(buf))
    p->first_media = g_get_monotonic_time();
  p->bytes += gst_buffer_get_size(buf);
}

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  if (argc < 2) {
    fprintf(stderr, "usage: %s URL [RUNS]\n", argv[0]);
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 1;
  int rc = 0;
  for (int i = 0; i < runs; i++) {
    GError *err = NULL;
    GstElement *pipe = gst_parse_launch("mmssrc name=src ! fakesink name=sink signal-handoffs=true", &err);
    if (!pipe) {
      fprintf(stderr, "firstbuf: %s\n", err ? err->message : "parse error");
      return 1;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
    g_object_set(src, "location", argv[1], NULL);
    for (int a = 3; a < argc; a++) {
      char *eq = strchr(argv[a], '=');
      if (eq) {
        *eq = '\0';
        gst_util_set_object_arg(G_OBJECT(src), argv[a], eq + 1);
        *eq = '=';
      }
    }
    Probe p = {0, 0, 0, 0};
    g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), &p);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    p.start = g_get_monotonic_time();
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(pipe);
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    gint64 end = g_get_monotonic_time();
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) / 1e6;
    if (!msg || GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      fprintf(stderr, "firstbuf: run %d: %s\n", i, msg ? "error message" : "timed out");
      rc = 1;
    } else {
      gchar *transport = NULL;
      if (g_object_class_find_property(G_OBJECT_GET_CLASS(src), "transport"))
        g_object_get(src, "transport", &transport, NULL);
      printf("first_buffer_ms=%.2f first_media_ms=%.2f total_ms=%.2f bytes=%llu cpu_s=%.4f transport=%s\n",
             (p.first - p.start) / 1000.0, p.first_media ? (p.first_media - p.start) / 1000.0 : -1.0,
             (end - p.start) / 1000.0, (unsigned long long)p.bytes, cpu, transport ? transport : "-");
      g_free(transport);
    }
    if (msg)
      gst_message_unref(msg);
    gst_object_unref(bus);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(pipe);
  }
  return rc;
}
