package tui

// appExplain is the one box of the architecture view that is not a
// service: the app tier mossdev leaves out. Every service explains itself
// (stack.Service.Explain).
const appExplain = "The Mossi apps (Flask/uWSGI API, Django admin, Celery workers) are not part of mossdev: " +
	"your code plays this box. It reaches every store with the URLs `mossdev env` prints."
