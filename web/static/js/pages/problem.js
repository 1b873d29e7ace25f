// The page that explains a problem code (/problems/<code>): plain text from the server, nothing to run.
export {};
