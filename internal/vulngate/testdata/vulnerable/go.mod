// A module that calls a function with a known vulnerability, for the gate's own test:
// golang.org/x/text v0.3.6's language.Parse (GO-2021-0113, fixed in v0.3.7) is called;
// language.ParseAcceptLanguage (GO-2022-1059) is imported but not called.
module example.com/vulnerable

go 1.26

require golang.org/x/text v0.3.6
