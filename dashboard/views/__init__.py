"""One module per page; ``st.navigation`` runs each file as a page script."""
