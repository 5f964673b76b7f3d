// Command cmbsim simulates the China Merchants Bank parking open platform
// for commissioning and tests: it serves the uplink API with state and
// drives the lane's callbacks.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "cmbsim: coming in a later change")
	os.Exit(2)
}
