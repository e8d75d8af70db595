/* mmsclient: a small command-line client built on libmms, used as an
 * independent MMS/MMSH peer by the interoperability tests and the benchmark.
 *
 * usage: mmsclient [-m MAXBYTES] [-s SEEK_SECONDS] URL OUTFILE
 *
 * Connects with mmsx_connect (mms:// tries MMS/TCP first, then MMSH), prints
 * what libmms learned from the ASF header, optionally seeks with
 * mmsx_time_seek, then writes the stream to OUTFILE: the ASF header followed
 * by data packets, which libmms pads to the fixed packet size.  After a seek
 * libmms returns data packets only, so the header is written first from
 * mmsx_peek_header; OUTFILE is then a playable ASF file either way.
 *
 * Build: cc -O2 -Wall -o mmsclient mmsclient.c $(pkg-config --cflags --libs libmms)
 * Exit status: 0 when at least one byte of data after the header was read.
 */
#include <libmms/mmsx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const unsigned char kAsfHeaderGuid[16] = {
  0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11,
  0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c,
};

int main(int argc, char **argv)
{
  long long max_bytes = 0;
  const char *seek = NULL;
  int opt;
  while ((opt = getopt(argc, argv, "m:s:")) != -1) {
    switch (opt) {
    case 'm': max_bytes = atoll(optarg); break;
    case 's': seek = optarg; break;
    default: goto usage;
    }
  }
  if (argc - optind != 2)
    goto usage;
  const char *url = argv[optind], *path = argv[optind + 1];

  mmsx_t *m = mmsx_connect(NULL, NULL, url, 1000000000);
  if (!m) {
    fprintf(stderr, "mmsclient: connect failed: %s\n", url);
    return 1;
  }
  unsigned header_len = mmsx_get_asf_header_len(m);
  fprintf(stderr, "mmsclient: header_len=%u packet_len=%llu length=%u time_length=%.3f seekable=%d\n",
          header_len, (unsigned long long)mmsx_get_asf_packet_len(m), mmsx_get_length(m),
          mmsx_get_time_length(m), mmsx_get_seekable(m));

  FILE *out = fopen(path, "wb");
  if (!out) {
    perror(path);
    mmsx_close(m);
    return 1;
  }
  static char buf[256 * 1024];
  long long total = 0;
  int n;
  if (seek) {
    int r = mmsx_time_seek(NULL, m, atof(seek));
    fprintf(stderr, "mmsclient: time_seek(%s) = %d\n", seek, r);
    if (!r) {
      fclose(out);
      mmsx_close(m);
      return 1;
    }
    n = mmsx_read(NULL, m, buf, sizeof buf);
    if (n > 0 && (n < 16 || memcmp(buf, kAsfHeaderGuid, 16) != 0)) {
      /* Data packets only: put the header in front. */
      char *hdr = malloc(header_len ? header_len : 1);
      int h = hdr ? mmsx_peek_header(m, hdr, (int)header_len) : 0;
      if (h > 0)
        fwrite(hdr, 1, (size_t)h, out);
      free(hdr);
      fprintf(stderr, "mmsclient: wrote %d header bytes before the packets\n", h);
    }
    if (n > 0) {
      fwrite(buf, 1, (size_t)n, out);
      total += n;
    }
  }
  while ((!max_bytes || total < max_bytes) && (n = mmsx_read(NULL, m, buf, sizeof buf)) > 0) {
    fwrite(buf, 1, (size_t)n, out);
    total += n;
  }
  if (fclose(out) != 0) {
    perror(path);
    mmsx_close(m);
    return 1;
  }
  fprintf(stderr, "mmsclient: read %lld bytes, position %lld\n", total,
          (long long)mmsx_get_current_pos(m));
  mmsx_close(m);
  return total > (seek ? 0 : (long long)header_len) ? 0 : 1;

usage:
  fprintf(stderr, "usage: %s [-m MAXBYTES] [-s SEEK_SECONDS] URL OUTFILE\n", argv[0]);
  return 2;
}
