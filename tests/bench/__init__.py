"""`make bench`: the gateway measured against a fixed-response upstream and bare Envoy, in one run.

Performance targets live here (ARCHITECTURE.md §6), never in timed unit tests. Nothing in this
package is a pytest test: no module is named test_*.
"""
