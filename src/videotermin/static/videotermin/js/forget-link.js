// A personal link's error page: its address holds the link's token. Replace it with the start
// page's, so that the token stays neither in the address bar nor in the browser's history.
history.replaceState(null, "", "/");
