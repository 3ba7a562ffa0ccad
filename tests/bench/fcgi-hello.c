/* The smallest useful libfcgi responder: the ceiling cairn's /healthz is
 * compared with in tests/bench (same nginx, same socket setup). */
#include <fcgiapp.h>
#include <stdio.h>

int
main(void)
{
	FCGX_Request req;
	static const char resp[] =
		"Status: 200 OK\r\nContent-Type: application/json\r\n"
		"Content-Length: 15\r\n\r\n{\"status\":\"ok\"}";

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(resp, (int)sizeof resp - 1, req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
