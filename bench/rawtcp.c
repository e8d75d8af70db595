/* rawtcp: the loopback TCP baseline for bench/run.sh.
 *
 *   rawtcp serve FILE   listen on 127.0.0.1 (free port), print "port N",
 *                       send FILE to the first client, then exit
 *   rawtcp read PORT    connect to 127.0.0.1:PORT, read to EOF with
 *                       256 KiB reads, print the byte count
 *
 * Build: cc -O2 -Wall -o rawtcp rawtcp.c
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int serve(const char *path)
{
  int fd = open(path, O_RDONLY);
  if (fd < 0) { perror(path); return 1; }
  struct stat st;
  if (fstat(fd, &st) != 0) { perror("fstat"); return 1; }
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) { perror("bind/listen"); return 1; }
  socklen_t len = sizeof a;
  getsockname(ls, (struct sockaddr *)&a, &len);
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);
  int c = accept(ls, NULL, NULL);
  if (c < 0) { perror("accept"); return 1; }
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(c, fd, &off, (size_t)(st.st_size - off));
    if (n <= 0) { perror("sendfile"); return 1; }
  }
  close(c);
  close(ls);
  close(fd);
  return 0;
}

static int readall(int port)
{
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
  static char buf[256 * 1024];
  long long total = 0;
  ssize_t n;
  while ((n = read(s, buf, sizeof buf)) > 0)
    total += n;
  if (n < 0) { perror("read"); return 1; }
  printf("%lld\n", total);
  close(s);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 3 && strcmp(argv[1], "serve") == 0)
    return serve(argv[2]);
  if (argc == 3 && strcmp(argv[1], "read") == 0)
    return readall(atoi(argv[2]));
  fprintf(stderr, "usage: %s serve FILE | read PORT\n", argv[0]);
  return 2;
}
