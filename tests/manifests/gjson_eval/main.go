// gjson-eval answers, for one JSON document and a list of gjson paths, whether each path exists
// in the document: the test used by KServe's InferenceGraph router to pick a Switch step
// (gjson.GetBytes(body, step.Condition).Exists()). The manifest tests use it to check that the
// Switch conditions in the manifests route example requests where the docs say they go.
//
//	echo '{"document": {...}, "paths": ["a.b", ...]}' | gjson-eval  ->  [true, false, ...]
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/tidwall/gjson"
)

type query struct {
	Document json.RawMessage `json:"document"`
	Paths    []string        `json:"paths"`
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading stdin: %v", err)
	}
	var q query
	if err := json.Unmarshal(input, &q); err != nil {
		fail("stdin is not {\"document\": ..., \"paths\": [...]}: %v", err)
	}
	if !gjson.ValidBytes(q.Document) {
		fail("document is not valid JSON")
	}
	exists := make([]bool, len(q.Paths))
	for i, path := range q.Paths {
		exists[i] = gjson.GetBytes(q.Document, path).Exists()
	}
	if err := json.NewEncoder(os.Stdout).Encode(exists); err != nil {
		fail("writing result: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gjson-eval: "+format+"\n", args...)
	os.Exit(2)
}
